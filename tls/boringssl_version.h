// Which TLS library the binary links (BoringSSL, from Debian's
// android-libboringssl-dev), for --version and start-up logs. The TLS
// transform itself lands with the TLS work (issue 5).
#pragma once

namespace plexgate::tls {

// "BoringSSL" plus what the library reports about itself.
const char* boringSslVersion();

}  // namespace plexgate::tls
