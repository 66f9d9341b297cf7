// The one place that names the C library: Glibc on Debian/Ubuntu, Musl on static Linux builds,
// Darwin on macOS. Modules importing EAHCore get it from here.
#if canImport(Glibc)
@_exported import Glibc
#elseif canImport(Musl)
@_exported import Musl
#elseif canImport(Darwin)
@_exported import Darwin
#endif
