// TicketKeyRing: the keys a listener encrypts and decrypts session tickets
// with. One ring per listener, shared by every worker (tickets issued on one
// worker resume on any other), and by several instances when the keys come
// from a file. Without a file, a random key is made and rotated lazily every
// `rotation`; the previous key still decrypts, so a ticket lives at least one
// rotation. Thread-safe: a mutex guards the keys, taken once per full or
// resumed handshake, never per request.
#pragma once

#include <openssl/base.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace plexgate::tls {

class TicketKeyRing {
 public:
  struct Key {
    std::array<uint8_t, 16> name{};
    std::array<uint8_t, 32> hmac{};
    std::array<uint8_t, 32> aes{};
    bool aes256 = false;  // 80-byte keys; 48-byte keys are AES-128
    size_t hmacLen() const { return aes256 ? 32 : 16; }
  };

  // Random keys rotated every `rotation`.
  explicit TicketKeyRing(std::chrono::seconds rotation);
  // Keys from nginx-format bytes (48 or 80 per key, concatenated). Returns
  // null and sets `error` when the bytes are not whole keys.
  static std::shared_ptr<TicketKeyRing> fromBytes(std::string_view bytes, std::string& error);

  // SSL_CTX_set_tlsext_ticket_key_cb's contract: encrypt (1/-1) or
  // decrypt (0 unknown, 1 ok, 2 ok and renew).
  int ticketCallback(uint8_t* key_name, uint8_t* iv, EVP_CIPHER_CTX* cipher, HMAC_CTX* hmac, bool encrypt);

  size_t keyCount() const;

 private:
  TicketKeyRing() = default;
  void rotateIfDue();  // mu_ held

  mutable std::mutex mu_;
  std::vector<Key> keys_;  // [0] encrypts
  bool from_file_ = false;
  std::chrono::seconds rotation_{0};
  std::chrono::steady_clock::time_point made_{};
};

}  // namespace plexgate::tls
