// Http1Parser wraps llhttp for one connection (requests or responses). It
// never owns the bytes it parses: the head it reports is made of spans into
// the caller's buffers, stitched into the parser's own arena only when llhttp
// split one element across two execute() calls on non-adjacent memory. The
// caller keeps those buffers alive until it is done with the head. No libuv.
#pragma once

#include <llhttp.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "parsers/http1_limits.h"

namespace plexgate::parsers {

struct HeaderField {
  std::string_view name;
  std::string_view value;
};

// The head of one message. Spans are valid until the next message begins or
// the caller's buffers are released, whichever comes first.
struct MessageHead {
  std::string_view method;  // request: static string from llhttp
  std::string_view target;  // request-target as sent
  int status = 0;           // response
  uint8_t http_major = 1;
  uint8_t http_minor = 1;
  std::vector<HeaderField> headers;
  std::optional<uint64_t> content_length;
  bool chunked = false;
  bool keep_alive = true;
  bool upgrade = false;  // Upgrade/CONNECT: llhttp stops after this message

  // Case-insensitive lookup of the first header with this name.
  const HeaderField* find(std::string_view name) const;
  bool hasBody() const { return chunked || (content_length && *content_length > 0); }
};

// Why a message was refused. Each maps to one local reply (http/local_reply).
enum class ParseError : uint8_t {
  None,
  Malformed,         // 400: not HTTP, bad token, bad chunk, ...
  AmbiguousFraming,  // 400: CL+TE, two Content-Lengths, TE not ending in chunked
  HeadTooLarge,      // 431
  TooManyHeaders,    // 431
  UriTooLong,        // 414
  BodyTooLarge,      // 413
  VersionNotSupported,  // 505
  ObsFold,           // 400: a request head with obs-fold (RFC 9112 5.2)
  Truncated,         // peer closed mid-message (finish())
};

const char* parseErrorName(ParseError e);

// What the handler tells the parser to do after an event.
enum class Next : uint8_t {
  Continue,
  SkipBody,  // onHead only: the message has no body (response to HEAD, 204, 304)
  Pause,     // stop after this event; execute() returns Paused, resume() continues
};

class Http1Handler {
 public:
  virtual ~Http1Handler() = default;
  virtual void onMessageBegin() {}
  virtual Next onHead(MessageHead& head) = 0;
  virtual Next onBody(std::string_view chunk) = 0;
  virtual Next onMessageComplete() = 0;
};

struct ExecResult {
  enum class Status : uint8_t { Ok, Paused, Upgrade, Error };
  Status status = Status::Ok;
  size_t consumed = 0;  // bytes of the input used; the rest must be fed again
  // Of `consumed`, the bytes before the current message's trailer fields
  // (all of them when none began by the end of this call). A proxy forwards
  // only these as received and writes trailers() itself, one line per
  // field, once the message is complete: no trailer line reaches a peer
  // folded, or in any form but the one plexgate parsed.
  size_t before_trailers = 0;
  ParseError error = ParseError::None;
  const char* reason = nullptr;  // llhttp's static reason text, for logs
};

class Http1Parser {
 public:
  enum class Type : uint8_t { Request, Response };

  Http1Parser(Type type, const Http1Limits& limits, Http1Handler& handler);
  Http1Parser(const Http1Parser&) = delete;
  Http1Parser& operator=(const Http1Parser&) = delete;

  // Feeds bytes. Handler callbacks run inside. On Paused or Upgrade, bytes
  // past `consumed` were not parsed.
  ExecResult execute(const char* data, size_t len);
  // After Paused: llhttp_resume; feed the unparsed bytes again.
  void resume();
  // Back to the start of a message stream (a new connection): clears any
  // pause or error and every offset.
  void reset();
  // After Upgrade when the upgrade was declined: continue parsing HTTP.
  void resumeAfterUpgrade();
  // The peer closed: completes a read-until-close body, or reports Truncated.
  ExecResult finish();
  // True between the first byte of a message and its onMessageComplete.
  bool inMessage() const { return in_message_; }
  // True between the first byte of a message and its onHead.
  bool inHead() const { return in_head_; }
  // The trailer fields of a chunked message, complete from its
  // onMessageComplete until the next message begins: copies owned by the
  // parser (trailers are rare and small), each obs-fold read as the
  // whitespace after it, values trimmed. Empty when there were none.
  const std::vector<HeaderField>& trailers() const { return trailers_; }
  bool messageNeedsEof() const { return llhttp_message_needs_eof(&parser_) != 0; }
  uint64_t bodyBytes() const { return body_bytes_; }
  void setLimits(const Http1Limits& limits) { limits_ = limits; }  // the arena keeps its own size
  // Between messages: frees the header array and the stitching arena, so an
  // idle keep-alive connection holds neither; the next message makes them
  // again. No-op inside a message.
  void releaseIdleMemory();

 private:
  enum class Building : uint8_t { None, Url, Field, Value };

  static Http1Parser& self(llhttp_t* p) { return *static_cast<Http1Parser*>(p->data); }
  static int onMessageBeginCb(llhttp_t* p);
  static int onMethodCb(llhttp_t* p, const char* at, size_t len);
  static int onVersionCb(llhttp_t* p, const char* at, size_t len);
  static int onUrlCb(llhttp_t* p, const char* at, size_t len);
  static int onStatusCb(llhttp_t* p, const char* at, size_t len);
  static int onHeaderFieldCb(llhttp_t* p, const char* at, size_t len);
  static int onHeaderValueCb(llhttp_t* p, const char* at, size_t len);
  static int onElementCompleteCb(llhttp_t* p);
  static int onValueCompleteCb(llhttp_t* p);
  static int onFieldCompleteCb(llhttp_t* p);
  static int onChunkExtensionCb(llhttp_t* p, const char* at, size_t len);
  static int onHeadersCompleteCb(llhttp_t* p);
  static int onBodyCb(llhttp_t* p, const char* at, size_t len);
  static int onMessageCompleteCb(llhttp_t* p);
  static const llhttp_settings_t& settings();

  int fail(ParseError e);
  int countTrailer(Building kind, size_t len);
  // A trailer field's name or value piece: counted, then copied.
  int onTrailerPiece(Building kind, const char* at, size_t len);
  // A value span of a head field: finds obs-fold from the offsets llhttp
  // skips (see the .cc). Requests refuse it; responses note it.
  int checkFold(const char* at, size_t len, uint64_t off);
  void onHeadFold();
  // Appends [at, at+len) to `view`, extending in place when adjacent and
  // stitching into arena_ otherwise. False when the arena would overflow.
  bool extend(std::string_view& view, Building kind, const char* at, size_t len);
  bool checkHeadBytes(const char* end);
  uint64_t offsetOf(const char* p) const { return fed_before_ + static_cast<uint64_t>(p - chunk_); }
  ExecResult resultFor(llhttp_errno_t rc, const char* data, size_t len);
  // One llhttp_execute over [data, data+len) with the bookkeeping around it.
  ExecResult executeOnce(const char* data, size_t len);
  // The byte `back` positions before `end` in the stream (1 = the last one
  // consumed), reaching into the previous execute()'s tail when needed.
  char byteBefore(const char* data, const char* end, size_t back) const;

  llhttp_t parser_;
  Http1Limits limits_;
  Http1Handler& handler_;
  MessageHead head_;
  ParseError error_ = ParseError::None;
  Building building_ = Building::None;
  bool in_message_ = false;
  bool in_head_ = false;
  const char* chunk_ = nullptr;  // data of the current execute()
  uint64_t fed_before_ = 0;      // bytes fed in earlier execute() calls
  uint64_t head_start_ = 0;      // offset of the message's first byte
  uint64_t body_bytes_ = 0;
  uint64_t trailer_bytes_ = 0;  // trailers have their own allowance of max_head_bytes
  bool start_known_ = false;    // head_start_ is exact for this message
  bool paused_at_head_end_ = false;  // the last execute() stopped right after a head
  bool saw_transfer_encoding_ = false;  // a Transfer-Encoding field, even an empty one
  // A chunked request ended: llhttp paused before the handler heard of it,
  // so execute() can check the final CRLF (llhttp 8.1 takes a bare LF).
  bool check_chunked_end_ = false;
  uint32_t chunk_ext_bytes_ = 0;  // this message's chunk extensions
  // obs-fold detection (head fields): stream offsets of the last field
  // name's end (the colon) and of where the next value span should start,
  // and the LFs seen between a colon and its value's first span in earlier
  // execute()s.
  uint64_t colon_off_ = 0;
  uint64_t value_end_ = 0;
  uint32_t gap_lfs_ = 0;
  bool awaiting_value_ = false;  // a field name is complete, its value not begun
  bool head_folded_ = false;     // a response head had obs-fold
  // Trailers: copied piece by piece into trailer_buf_, located by
  // trailer_fields_ (offsets: the buffer grows), published as trailers_ at
  // the message's end. trailer_start_ is the stream offset of the first
  // trailer field, or kNoTrailers.
  static constexpr uint64_t kNoTrailers = ~uint64_t{0};
  struct TrailerSpan {
    uint32_t name_off, name_len, value_off, value_len;
  };
  std::string trailer_buf_;
  std::vector<TrailerSpan> trailer_fields_;
  std::vector<HeaderField> trailers_;
  uint64_t trailer_start_ = kNoTrailers;
  // llhttp's Connection/Upgrade flags as the head left them: trailers must
  // not change them (see onMessageCompleteCb).
  uint16_t head_connection_flags_ = 0;
  char tail_[2] = {0, 0};         // the last two bytes consumed before this execute()
  // Arena for elements split over non-adjacent buffers: allocated on first
  // need, sized to the head limit, reset at each message.
  std::unique_ptr<char[]> arena_;
  uint32_t arena_cap_ = 0;
  uint32_t arena_used_ = 0;
};

}  // namespace plexgate::parsers
