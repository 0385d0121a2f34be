// membio's version, as macros for the preprocessor and as constants.
#ifndef MEMBIO_VERSION_HPP
#define MEMBIO_VERSION_HPP

#define MEMBIO_VERSION_MAJOR 0
#define MEMBIO_VERSION_MINOR 1
#define MEMBIO_VERSION_PATCH 0

namespace membio {

/// The major version: releases with the same major version are compatible.
inline constexpr int version_major = MEMBIO_VERSION_MAJOR;

/// The minor version: grows when features are added.
inline constexpr int version_minor = MEMBIO_VERSION_MINOR;

/// The patch version: grows with fixes only.
inline constexpr int version_patch = MEMBIO_VERSION_PATCH;

}  // namespace membio

#endif  // MEMBIO_VERSION_HPP
