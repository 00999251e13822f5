#include "tls/cert_gen.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec_key.h>
#include <openssl/evp.h>
#include <openssl/nid.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>

namespace plexgate::tls {

namespace {

std::string bioText(BIO* bio) {
  const uint8_t* p = nullptr;
  size_t len = 0;
  BIO_mem_contents(bio, &p, &len);
  return std::string(reinterpret_cast<const char*>(p), len);
}

bool isIp(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

bool addExt(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  bssl::UniquePtr<X509_EXTENSION> ext(X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value.c_str()));
  return ext && X509_add_ext(cert, ext.get(), -1) == 1;
}

}  // namespace

GeneratedCert generateCertificate(const CertRequest& req) {
  GeneratedCert out;
  bssl::UniquePtr<EC_KEY> ec(EC_KEY_new_by_curve_name(NID_X9_62_prime256v1));
  if (!ec || EC_KEY_generate_key(ec.get()) != 1) {
    return out;
  }
  bssl::UniquePtr<EVP_PKEY> key(EVP_PKEY_new());
  EVP_PKEY_assign_EC_KEY(key.get(), ec.release());

  bssl::UniquePtr<X509> issuer_cert;
  bssl::UniquePtr<EVP_PKEY> issuer_key;
  if (req.issuer != nullptr) {
    bssl::UniquePtr<BIO> cb(BIO_new_mem_buf(req.issuer->cert_pem.data(), req.issuer->cert_pem.size()));
    bssl::UniquePtr<BIO> kb(BIO_new_mem_buf(req.issuer->key_pem.data(), req.issuer->key_pem.size()));
    issuer_cert.reset(PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr));
    issuer_key.reset(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
    if (!issuer_cert || !issuer_key) {
      return out;
    }
  }

  bssl::UniquePtr<X509> cert(X509_new());
  X509_set_version(cert.get(), X509_VERSION_3);
  uint8_t serial[16];
  RAND_bytes(serial, sizeof(serial));
  serial[0] &= 0x7f;
  bssl::UniquePtr<BIGNUM> bn(BN_bin2bn(serial, sizeof(serial), nullptr));
  BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get()));
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(req.days) * 86400);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (!req.organization.empty()) {
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, reinterpret_cast<const uint8_t*>(req.organization.c_str()),
                               -1, -1, 0);
  }
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const uint8_t*>(req.common_name.c_str()),
                             -1, -1, 0);
  X509* issuer = issuer_cert ? issuer_cert.get() : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer));

  bool ok = addExt(cert.get(), issuer, NID_basic_constraints, req.ca ? "critical,CA:TRUE" : "critical,CA:FALSE") &&
            addExt(cert.get(), issuer, NID_key_usage,
                   req.ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature") &&
            addExt(cert.get(), issuer, NID_subject_key_identifier, "hash");
  if (ok && !req.ca) {
    ok = addExt(cert.get(), issuer, NID_ext_key_usage, "serverAuth,clientAuth");
  }
  if (ok && issuer_cert) {
    ok = addExt(cert.get(), issuer, NID_authority_key_identifier, "keyid");
  }
  if (ok && !req.alt_names.empty()) {
    std::string sans;
    for (const std::string& n : req.alt_names) {
      sans += (sans.empty() ? "" : ",") + std::string(isIp(n) ? "IP:" : "DNS:") + n;
    }
    ok = addExt(cert.get(), issuer, NID_subject_alt_name, sans);
  }
  EVP_PKEY* signer = issuer_key ? issuer_key.get() : key.get();
  if (!ok || X509_sign(cert.get(), signer, EVP_sha256()) == 0) {
    return out;
  }
  bssl::UniquePtr<BIO> cbio(BIO_new(BIO_s_mem()));
  bssl::UniquePtr<BIO> kbio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_X509(cbio.get(), cert.get()) != 1 ||
      PEM_write_bio_PrivateKey(kbio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return out;
  }
  out.cert_pem = bioText(cbio.get());
  out.key_pem = bioText(kbio.get());
  return out;
}

}  // namespace plexgate::tls
