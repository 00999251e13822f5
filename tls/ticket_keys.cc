#include "tls/ticket_keys.h"

#include <openssl/cipher.h>
#include <openssl/digest.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstring>

namespace plexgate::tls {

namespace {

TicketKeyRing::Key randomKey() {
  TicketKeyRing::Key k;
  k.aes256 = true;
  RAND_bytes(k.name.data(), k.name.size());
  RAND_bytes(k.hmac.data(), k.hmac.size());
  RAND_bytes(k.aes.data(), k.aes.size());
  return k;
}

}  // namespace

TicketKeyRing::TicketKeyRing(std::chrono::seconds rotation)
    : rotation_(rotation), made_(std::chrono::steady_clock::now()) {
  keys_.push_back(randomKey());
}

std::shared_ptr<TicketKeyRing> TicketKeyRing::fromBytes(std::string_view bytes, std::string& error) {
  // nginx's layout: name(16) hmac(16) aes(16), or name(16) hmac(32) aes(32).
  size_t key_len = 0;
  if (!bytes.empty() && bytes.size() % 80 == 0) {
    key_len = 80;
  } else if (!bytes.empty() && bytes.size() % 48 == 0) {
    key_len = 48;
  } else {
    error = "expected one or more 48-byte or 80-byte keys, got " + std::to_string(bytes.size()) + " bytes";
    return nullptr;
  }
  std::shared_ptr<TicketKeyRing> ring(new TicketKeyRing());
  ring->from_file_ = true;
  for (size_t off = 0; off < bytes.size(); off += key_len) {
    const auto* p = reinterpret_cast<const uint8_t*>(bytes.data() + off);
    Key k;
    k.aes256 = key_len == 80;
    const size_t part = k.aes256 ? 32 : 16;
    std::memcpy(k.name.data(), p, 16);
    std::memcpy(k.hmac.data(), p + 16, part);
    std::memcpy(k.aes.data(), p + 16 + part, part);
    ring->keys_.push_back(k);
  }
  return ring;
}

size_t TicketKeyRing::keyCount() const {
  std::lock_guard<std::mutex> lock(mu_);
  return keys_.size();
}

void TicketKeyRing::rotateIfDue() {
  if (from_file_ || rotation_.count() <= 0) {
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  if (now - made_ < rotation_) {
    return;
  }
  // The new key encrypts; the one before still decrypts for one period.
  keys_.insert(keys_.begin(), randomKey());
  keys_.resize(2);
  made_ = now;
}

int TicketKeyRing::ticketCallback(uint8_t* key_name, uint8_t* iv, EVP_CIPHER_CTX* cipher, HMAC_CTX* hmac,
                                  bool encrypt) {
  Key key;
  bool current = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    rotateIfDue();
    if (encrypt) {
      key = keys_.front();
      current = true;
    } else {
      const auto it = std::find_if(keys_.begin(), keys_.end(), [key_name](const Key& k) {
        return std::memcmp(k.name.data(), key_name, k.name.size()) == 0;
      });
      if (it == keys_.end()) {
        return 0;  // unknown or retired key: a full handshake follows
      }
      key = *it;
      current = it == keys_.begin();
    }
  }
  const EVP_CIPHER* aes = key.aes256 ? EVP_aes_256_cbc() : EVP_aes_128_cbc();
  if (HMAC_Init_ex(hmac, key.hmac.data(), key.hmacLen(), EVP_sha256(), nullptr) != 1) {
    return -1;
  }
  if (encrypt) {
    std::memcpy(key_name, key.name.data(), key.name.size());
    RAND_bytes(iv, EVP_CIPHER_iv_length(aes));
    return EVP_EncryptInit_ex(cipher, aes, nullptr, key.aes.data(), iv) == 1 ? 1 : -1;
  }
  if (EVP_DecryptInit_ex(cipher, aes, nullptr, key.aes.data(), iv) != 1) {
    return -1;
  }
  return current ? 1 : 2;  // 2: renew a ticket made with the previous key
}

}  // namespace plexgate::tls
