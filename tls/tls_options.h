// What a listener's or an upstream cluster's TLS settings say, as plain data.
// The config loader fills these (and names the file, line and key when one is
// wrong); tls_context.h turns them into BoringSSL contexts. No BoringSSL or
// libuv types here, so the configuration snapshot can embed them.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace plexgate::tls {

// One certificate chain and its key, offered to the names it covers.
struct CertificateOptions {
  std::string cert_file;  // PEM: leaf first, then intermediates
  std::string key_file;   // PEM private key
  // Names this certificate answers for by SNI: "api.example.com" or
  // "*.example.com". Empty: the certificate's DNS subjectAltNames (or its
  // CN when it has none).
  std::vector<std::string> server_names;
};

enum class ClientAuth : uint8_t { Off, Optional, Required };

enum class Version : uint16_t { Tls12 = 0x0303, Tls13 = 0x0304 };

// A listener's TLS (downstream termination).
struct ServerOptions {
  std::vector<CertificateOptions> certificates;  // the first is the default
  Version min_version = Version::Tls12;
  Version max_version = Version::Tls13;
  std::vector<std::string> alpn{"http/1.1"};  // offered in preference order
  bool session_tickets = true;
  // Ticket keys shared by several instances: the file holds one or more keys
  // of 48 bytes (AES-128) or 80 bytes (AES-256), nginx's format; the first
  // encrypts, all decrypt. Empty: a random key per listener, rotated.
  std::string ticket_key_file;
  std::chrono::seconds ticket_key_rotation{3600};
  ClientAuth client_auth = ClientAuth::Off;
  std::string client_ca_file;  // required unless client_auth is Off
  std::chrono::milliseconds handshake_timeout{10'000};
};

// An upstream cluster's TLS (origination), for https:// endpoints.
struct ClientOptions {
  bool verify = true;     // chain and hostname
  std::string ca_file;    // empty: the system bundle
  std::string sni;        // empty: the endpoint's host when it is a name
  std::string client_cert_file;  // both or neither
  std::string client_key_file;
};

}  // namespace plexgate::tls
