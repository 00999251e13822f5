#include "tls/boringssl_version.h"

#include <openssl/crypto.h>
#include <openssl/ssl.h>

namespace plexgate::tls {

const char* boringSslVersion() {
  // OpenSSL_version(OPENSSL_VERSION) is "BoringSSL" in BoringSSL; the
  // static_assert below fails the build if OpenSSL headers were picked up.
  return OpenSSL_version(OPENSSL_VERSION);
}

#ifndef OPENSSL_IS_BORINGSSL
static_assert(false, "tls/ must build against BoringSSL, not OpenSSL");
#endif

}  // namespace plexgate::tls
