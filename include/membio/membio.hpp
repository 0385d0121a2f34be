// membio: TLS over memory buffers with OpenSSL 3. Includes every public
// header.
#ifndef MEMBIO_MEMBIO_HPP
#define MEMBIO_MEMBIO_HPP

#include "bytes.hpp"
#include "capture.hpp"
#include "certificate.hpp"
#include "channel.hpp"
#include "context.hpp"
#include "credentials.hpp"
#include "error.hpp"
#include "exporter.hpp"
#include "hooks.hpp"
#include "io.hpp"
#include "limits.hpp"
#include "loopback.hpp"
#include "post_handshake.hpp"
#include "role.hpp"
#include "session.hpp"
#include "status.hpp"
#include "ticket_key.hpp"
#include "version.hpp"

#endif  // MEMBIO_MEMBIO_HPP
