// The two roles a channel or context can play: client and server.
#ifndef MEMBIO_ROLE_HPP
#define MEMBIO_ROLE_HPP

namespace membio {

/// Which end of a TLS connection a context or channel is.
///
/// The role is a template argument, so operations that belong to one role
/// (a client's server name, a server's certificate request) do not exist on
/// the other role's types and misuse fails to compile.
enum class Role { client, server };

/// Tag for the connecting end: `membio::Channel<membio::client>`.
inline constexpr Role client = Role::client;

/// Tag for the accepting end: `membio::Channel<membio::server>`.
inline constexpr Role server = Role::server;

}  // namespace membio

#endif  // MEMBIO_ROLE_HPP
