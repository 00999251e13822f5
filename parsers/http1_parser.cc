#include "parsers/http1_parser.h"

#include <algorithm>
#include <cstring>

#include "parsers/ascii.h"

namespace plexgate::parsers {

namespace {

// Header slots made at each message's start: enough for a typical browser
// request without growing.
constexpr size_t kReservedHeaders = 16;

// llhttp returns these for framing it refuses to guess about: the smuggling
// family (CL with TE, duplicate CL, TE not ending in chunked).
constexpr uint16_t kConnectionFlags = F_CONNECTION_KEEP_ALIVE | F_CONNECTION_CLOSE | F_CONNECTION_UPGRADE | F_UPGRADE;

bool isFramingError(llhttp_errno_t rc) {
  return rc == HPE_UNEXPECTED_CONTENT_LENGTH || rc == HPE_INVALID_TRANSFER_ENCODING ||
         rc == HPE_INVALID_CONTENT_LENGTH;
}

}  // namespace

const HeaderField* MessageHead::find(std::string_view name) const {
  for (const HeaderField& h : headers) {
    if (iequals(h.name, name)) {
      return &h;
    }
  }
  return nullptr;
}

const char* parseErrorName(ParseError e) {
  switch (e) {
    case ParseError::None: return "none";
    case ParseError::Malformed: return "malformed";
    case ParseError::AmbiguousFraming: return "ambiguous_framing";
    case ParseError::HeadTooLarge: return "head_too_large";
    case ParseError::TooManyHeaders: return "too_many_headers";
    case ParseError::UriTooLong: return "uri_too_long";
    case ParseError::BodyTooLarge: return "body_too_large";
    case ParseError::VersionNotSupported: return "version_not_supported";
    case ParseError::ObsFold: return "obs_fold";
    case ParseError::Truncated: return "truncated";
  }
  return "unknown";
}

const llhttp_settings_t& Http1Parser::settings() {
  static const llhttp_settings_t s = [] {
    llhttp_settings_t v;
    llhttp_settings_init(&v);
    v.on_message_begin = &Http1Parser::onMessageBeginCb;
    v.on_method = &Http1Parser::onMethodCb;
    v.on_version = &Http1Parser::onVersionCb;
    v.on_url = &Http1Parser::onUrlCb;
    v.on_status = &Http1Parser::onStatusCb;
    v.on_header_field = &Http1Parser::onHeaderFieldCb;
    v.on_header_value = &Http1Parser::onHeaderValueCb;
    v.on_url_complete = &Http1Parser::onElementCompleteCb;
    v.on_header_field_complete = &Http1Parser::onFieldCompleteCb;
    v.on_header_value_complete = &Http1Parser::onValueCompleteCb;
    v.on_chunk_extension_name = &Http1Parser::onChunkExtensionCb;
    v.on_chunk_extension_value = &Http1Parser::onChunkExtensionCb;
    v.on_headers_complete = &Http1Parser::onHeadersCompleteCb;
    v.on_body = &Http1Parser::onBodyCb;
    v.on_message_complete = &Http1Parser::onMessageCompleteCb;
    return v;
  }();
  return s;
}

Http1Parser::Http1Parser(Type type, const Http1Limits& limits, Http1Handler& handler)
    : limits_(limits), handler_(handler) {
  llhttp_init(&parser_, type == Type::Request ? HTTP_REQUEST : HTTP_RESPONSE, &settings());
  parser_.data = this;
  // llhttp 8.1 refuses every version but 0.9, 1.0, 1.1 and 2.0 while still
  // on the start line, which reads as Malformed (400) although "HTTP/1.2"
  // is well-formed and deserves 505. With this flag it takes any
  // DIGIT.DIGIT (the grammar stays strict: "HTTP/1.10", "HTTP/1.x" are still
  // errors) and onHeadersComplete judges the number. 8.1 has the flag but no
  // setter (llhttp_set_lenient_version came in 9.0); llhttp_reset keeps it.
  parser_.lenient_flags |= LENIENT_VERSION;
  head_.headers.reserve(kReservedHeaders);
}

void Http1Parser::releaseIdleMemory() {
  if (in_message_) {
    return;
  }
  std::vector<HeaderField>().swap(head_.headers);
  std::string().swap(trailer_buf_);
  std::vector<TrailerSpan>().swap(trailer_fields_);
  std::vector<HeaderField>().swap(trailers_);
  arena_.reset();
  arena_cap_ = 0;
  arena_used_ = 0;
}

int Http1Parser::fail(ParseError e) {
  error_ = e;
  llhttp_set_error_reason(&parser_, parseErrorName(e));
  return HPE_USER;
}

bool Http1Parser::checkHeadBytes(const char* end) {
  if (!in_head_) {
    return true;  // trailers: counted in onHeaderField/Value against their own allowance
  }
  return offsetOf(end) - head_start_ <= limits_.max_head_bytes;
}

bool Http1Parser::extend(std::string_view& view, Building kind, const char* at, size_t len) {
  if (building_ != kind) {
    building_ = kind;
    view = std::string_view(at, len);
    return true;
  }
  if (view.data() + view.size() == at) {
    view = std::string_view(view.data(), view.size() + len);
    return true;
  }
  // Split across non-adjacent buffers: stitch. The element being built is
  // always the newest, so when it already lives in the arena it is at the
  // arena's tail and grows in place.
  if (!arena_ || arena_cap_ < limits_.max_head_bytes) {
    if (arena_ && arena_used_ > 0) {
      return false;  // limits grew mid-message: refuse rather than move live spans
    }
    arena_cap_ = limits_.max_head_bytes;
    arena_ = std::make_unique<char[]>(arena_cap_);
  }
  const uint32_t cap = arena_cap_;
  const bool at_tail = view.data() + view.size() == arena_.get() + arena_used_ &&
                       view.data() >= arena_.get() && view.data() < arena_.get() + cap;
  if (!at_tail) {
    if (arena_used_ + view.size() + len > cap) {
      return false;
    }
    std::memcpy(arena_.get() + arena_used_, view.data(), view.size());
    view = std::string_view(arena_.get() + arena_used_, view.size());
    arena_used_ += static_cast<uint32_t>(view.size());
  } else if (arena_used_ + len > cap) {
    return false;
  }
  std::memcpy(arena_.get() + arena_used_, at, len);
  arena_used_ += static_cast<uint32_t>(len);
  view = std::string_view(view.data(), view.size() + len);
  return true;
}

int Http1Parser::onMessageBeginCb(llhttp_t* p) {
  Http1Parser& s = self(p);
  s.in_message_ = true;
  s.in_head_ = true;
  s.error_ = ParseError::None;
  s.building_ = Building::None;
  s.arena_used_ = 0;
  s.body_bytes_ = 0;
  s.trailer_bytes_ = 0;
  s.start_known_ = false;
  s.saw_transfer_encoding_ = false;
  s.check_chunked_end_ = false;
  s.chunk_ext_bytes_ = 0;
  s.awaiting_value_ = false;
  s.head_folded_ = false;
  s.trailer_start_ = kNoTrailers;
  if (!s.trailer_fields_.empty()) [[unlikely]] {
    s.trailer_buf_.clear();
    s.trailer_fields_.clear();
    s.trailers_.clear();
  }
  s.head_.method = {};
  s.head_.target = {};
  s.head_.status = 0;
  s.head_.headers.clear();
  if (s.head_.headers.capacity() == 0) {
    s.head_.headers.reserve(kReservedHeaders);  // released while idle
  }
  s.head_.content_length.reset();
  s.head_.chunked = false;
  s.head_.upgrade = false;
  s.handler_.onMessageBegin();
  return HPE_OK;
}

// The method (requests) and version (responses, after "HTTP/") are the first
// spans of a message, so they give its exact first byte: the head limit then
// counts every byte, padding included.
int Http1Parser::onMethodCb(llhttp_t* p, const char* at, size_t) {
  Http1Parser& s = self(p);
  if (!s.start_known_) {
    s.start_known_ = true;
    s.head_start_ = s.offsetOf(at);
  }
  return HPE_OK;
}

int Http1Parser::onVersionCb(llhttp_t* p, const char* at, size_t) {
  Http1Parser& s = self(p);
  if (!s.start_known_ && p->type == HTTP_RESPONSE) {
    s.start_known_ = true;
    const uint64_t off = s.offsetOf(at);
    s.head_start_ = off >= 5 ? off - 5 : 0;
  }
  return HPE_OK;
}

int Http1Parser::onUrlCb(llhttp_t* p, const char* at, size_t len) {
  Http1Parser& s = self(p);
  if (!s.extend(s.head_.target, Building::Url, at, len) || s.head_.target.size() > s.limits_.max_uri_bytes) {
    return s.fail(ParseError::UriTooLong);
  }
  if (!s.checkHeadBytes(at + len)) {
    return s.fail(ParseError::HeadTooLarge);
  }
  return HPE_OK;
}

int Http1Parser::onStatusCb(llhttp_t* p, const char* at, size_t len) {
  Http1Parser& s = self(p);
  if (!s.checkHeadBytes(at + len)) {
    return s.fail(ParseError::HeadTooLarge);
  }
  return HPE_OK;
}

int Http1Parser::onHeaderFieldCb(llhttp_t* p, const char* at, size_t len) {
  Http1Parser& s = self(p);
  if (!s.in_head_) {
    return s.onTrailerPiece(Building::Field, at, len);
  }
  s.colon_off_ = s.offsetOf(at + len);  // the colon's offset (strict llhttp: no space before it)
  if (s.building_ != Building::Field) {
    if (s.head_.headers.size() >= s.limits_.max_headers) {
      return s.fail(ParseError::TooManyHeaders);
    }
    s.head_.headers.push_back({});
  }
  if (!s.extend(s.head_.headers.back().name, Building::Field, at, len) || !s.checkHeadBytes(at + len)) {
    return s.fail(ParseError::HeadTooLarge);
  }
  return HPE_OK;
}

int Http1Parser::onHeaderValueCb(llhttp_t* p, const char* at, size_t len) {
  Http1Parser& s = self(p);
  if (!s.in_head_) {
    return s.onTrailerPiece(Building::Value, at, len);
  }
  if (s.head_.headers.empty() || s.head_.headers.back().name.empty()) {
    return s.fail(ParseError::Malformed);  // a value with no field name (": x")
  }
  // obs-fold shows as a span that does not start where expected: one byte
  // past the colon for a value's first span, where the last one ended for
  // the next (checkFold tells the harmless mismatches apart).
  const uint64_t off = s.offsetOf(at);
  if (off != s.value_end_) [[unlikely]] {
    if (const int rc = s.checkFold(at, len, off); rc != HPE_OK) {
      return rc;
    }
  }
  s.value_end_ = off + len;
  if (!s.extend(s.head_.headers.back().value, Building::Value, at, len) || !s.checkHeadBytes(at + len)) {
    return s.fail(ParseError::HeadTooLarge);
  }
  return HPE_OK;
}

int Http1Parser::onElementCompleteCb(llhttp_t* p) {
  self(p).building_ = Building::None;
  return HPE_OK;
}

// llhttp drops the whitespace before a value but keeps what trails it
// ("Host: a \t"), which RFC 9110 5.5 says is not part of the value: without
// this a Host with trailing spaces would not match its route, and every
// such value would go upstream with the spaces.
int Http1Parser::onValueCompleteCb(llhttp_t* p) {
  Http1Parser& s = self(p);
  s.building_ = Building::None;
  s.awaiting_value_ = false;
  if (s.in_head_ && !s.head_.headers.empty()) {
    std::string_view& v = s.head_.headers.back().value;
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) {
      v.remove_suffix(1);
    }
  } else if (!s.in_head_ && !s.trailer_fields_.empty()) {
    TrailerSpan& t = s.trailer_fields_.back();
    while (t.value_len > 0 && (s.trailer_buf_.back() == ' ' || s.trailer_buf_.back() == '\t')) {
      s.trailer_buf_.pop_back();
      --t.value_len;
    }
  }
  return HPE_OK;
}

// llhttp 8.1 takes obs-fold (a line starting with SP or HTAB continues the
// field) even in strict mode, and reports nothing about it. Two shapes:
//  - after a value's first line, the continuation is a new value span
//    beginning at the SP/HTAB, past the CRLF it skipped: in stream offsets,
//    a span that does not start where the previous one ended;
//  - after an empty first line ("X:\r\n  v"), llhttp skips the CRLF and the
//    whitespace before the value's first span, so the bytes between the
//    colon and that span hold a LF (two, when the value is empty and its
//    own CRLF precedes the empty span at the next line).
// An ordinary "Name: value" has one SP there, so the common path is one
// offset compare per span (onHeaderValueCb) and never reads the bytes.
int Http1Parser::checkFold(const char* at, size_t len, uint64_t off) {
  bool folded = true;  // a continuation span, past a skipped CRLF
  if (building_ != Building::Value) {
    folded = false;  // the value's first span
    if (off - colon_off_ > 3) {  // room for ":" CR LF SP at least
      const char* from = colon_off_ > fed_before_ ? chunk_ + (colon_off_ - fed_before_) : chunk_;
      uint32_t lfs = gap_lfs_;
      for (const char* c = from; c < at; ++c) {
        lfs += *c == '\n' ? 1 : 0;
      }
      folded = lfs > (len == 0 ? 1u : 0u);
    }
  }
  if (!folded) {
    return HPE_OK;
  }
  if (parser_.type == HTTP_REQUEST) {
    return fail(ParseError::ObsFold);
  }
  // A response: its head is re-serialized from the fields, in which the
  // fold is already gone (the spans join as "a" + " b"), but llhttp read
  // the fields before that, and misses the tokens a folded Connection
  // carries after the fold ("keep-alive\r\n , close"): the connection is
  // not trusted for reuse.
  head_folded_ = true;
  return HPE_OK;
}

// Chunk extensions are not body bytes, so without their own allowance a
// client could stream any amount of them past max_body_bytes.
int Http1Parser::onChunkExtensionCb(llhttp_t* p, const char*, size_t len) {
  Http1Parser& s = self(p);
  s.chunk_ext_bytes_ += static_cast<uint32_t>(std::min<size_t>(len, s.limits_.max_chunk_extension_bytes + 1u));
  if (s.chunk_ext_bytes_ > s.limits_.max_chunk_extension_bytes) {
    return s.fail(ParseError::BodyTooLarge);
  }
  return HPE_OK;
}

// Trailer fields are measured against their own allowance of max_head_bytes
// and never join the head, which callers may still be reading (a proxy
// retry re-serializes it): they are copied aside (onTrailerPiece).
int Http1Parser::countTrailer(Building kind, size_t len) {
  if (building_ != kind) {
    building_ = kind;
    trailer_bytes_ += kind == Building::Field ? 4 : 0;  // ": " and CRLF, once per field
  }
  trailer_bytes_ += len;
  return trailer_bytes_ > limits_.max_head_bytes ? fail(ParseError::HeadTooLarge) : HPE_OK;
}

int Http1Parser::onTrailerPiece(Building kind, const char* at, size_t len) {
  if (kind == Building::Field && building_ != Building::Field) {
    if (trailer_fields_.size() >= limits_.max_headers) {
      return fail(ParseError::TooManyHeaders);
    }
    if (trailer_start_ == kNoTrailers) {
      trailer_start_ = offsetOf(at);  // strict llhttp: a trailer line starts with its name
    }
    const auto end = static_cast<uint32_t>(trailer_buf_.size());
    trailer_fields_.push_back({end, 0, end, 0});
  } else if (kind == Building::Value && building_ != Building::Value) {
    if (trailer_fields_.empty()) {
      return fail(ParseError::Malformed);
    }
    trailer_fields_.back().value_off = static_cast<uint32_t>(trailer_buf_.size());
  }
  if (const int rc = countTrailer(kind, len); rc != HPE_OK) {
    return rc;
  }
  // Pieces of one element arrive in order (a fold's continuation too), so
  // appending joins them: "a" + " b" is the value with the fold read as SP.
  trailer_buf_.append(at, len);
  TrailerSpan& t = trailer_fields_.back();
  (kind == Building::Field ? t.name_len : t.value_len) += static_cast<uint32_t>(len);
  return HPE_OK;
}

int Http1Parser::onFieldCompleteCb(llhttp_t* p) {
  Http1Parser& s = self(p);
  if (!s.in_head_) {
    s.building_ = Building::None;
    if (s.trailer_fields_.empty() || s.trailer_fields_.back().name_len == 0) {
      return s.fail(ParseError::Malformed);
    }
    return HPE_OK;
  }
  s.building_ = Building::None;
  s.awaiting_value_ = true;
  s.gap_lfs_ = 0;
  s.value_end_ = s.colon_off_ + 2;  // where "Name: value" starts its value
  // field-name is a token of at least one character (RFC 9110 5.1).
  if (s.head_.headers.empty() || s.head_.headers.back().name.empty()) {
    return s.fail(ParseError::Malformed);
  }
  const std::string_view name = s.head_.headers.back().name;
  if (name.size() == 17 && iequals(name, "transfer-encoding")) {
    s.saw_transfer_encoding_ = true;  // llhttp flags none when the value is empty
  }
  return HPE_OK;
}

int Http1Parser::onHeadersCompleteCb(llhttp_t* p) {
  Http1Parser& s = self(p);
  s.building_ = Building::None;
  s.in_head_ = false;
  MessageHead& h = s.head_;
  if (p->type == HTTP_REQUEST) {
    h.method = llhttp_method_name(static_cast<llhttp_method_t>(p->method));
  } else {
    h.status = p->status_code;
  }
  h.http_major = p->http_major;
  if (h.http_major != 1) {
    return s.fail(ParseError::VersionNotSupported);
  }
  // A higher minor version of HTTP/1 is processed as HTTP/1.1, the highest
  // we conform to (RFC 9110 2.5; nginx does the same).
  h.http_minor = p->http_minor > 1 ? 1 : p->http_minor;
  h.chunked = (p->flags & F_CHUNKED) != 0;
  if (p->type == HTTP_REQUEST && (p->flags & F_TRANSFER_ENCODING) != 0 && !h.chunked) {
    // A request body's length must be knowable: a Transfer-Encoding that
    // does not end in chunked is refused (RFC 9112 6.3), which loose llhttp
    // would otherwise take as "no body" and leave the rest to be smuggled.
    return s.fail(ParseError::AmbiguousFraming);
  }
  if (p->type == HTTP_REQUEST && s.saw_transfer_encoding_ && (!h.chunked || h.http_minor == 0)) {
    // An empty Transfer-Encoding ends in no chunked either (llhttp would
    // frame by Content-Length); and in HTTP/1.0 the field means faulty
    // framing (RFC 9112 6.1), which a gateway does not guess at.
    return s.fail(ParseError::AmbiguousFraming);
  }
  if ((p->flags & F_CONTENT_LENGTH) != 0) {
    h.content_length = p->content_length;
    if (p->content_length > s.limits_.max_body_bytes) {
      return s.fail(ParseError::BodyTooLarge);
    }
  }
  h.keep_alive = llhttp_should_keep_alive(p) != 0 && !s.head_folded_;
  s.head_connection_flags_ = p->flags & kConnectionFlags;
  h.upgrade = p->upgrade != 0;
  switch (s.handler_.onHead(h)) {
    case Next::Continue: return 0;
    case Next::SkipBody: return 1;
    case Next::Pause:
      s.paused_at_head_end_ = true;
      return HPE_PAUSED;
  }
  return 0;
}

int Http1Parser::onBodyCb(llhttp_t* p, const char* at, size_t len) {
  Http1Parser& s = self(p);
  s.body_bytes_ += len;
  if (s.body_bytes_ > s.limits_.max_body_bytes) {
    return s.fail(ParseError::BodyTooLarge);
  }
  return s.handler_.onBody(std::string_view(at, len)) == Next::Pause ? HPE_PAUSED : HPE_OK;
}

int Http1Parser::onMessageCompleteCb(llhttp_t* p) {
  Http1Parser& s = self(p);
  s.in_message_ = false;
  if (!s.trailer_fields_.empty()) [[unlikely]] {
    // llhttp runs trailer fields through its header logic, so a trailer
    // "Connection: close" would end the connection after this message (the
    // next one is refused as "Data after Connection: close"). Trailers are
    // not merged into the head (RFC 9110 6.5.2): llhttp decides on the head's
    // flags, which it reads right after this callback.
    p->flags = static_cast<uint16_t>((p->flags & ~kConnectionFlags) | s.head_connection_flags_);
    // Sized, then filled: a push_back here would share the head's
    // vector<HeaderField> growth path, which GCC then stops inlining into
    // onHeaderFieldCb (+7 ns per small request in bench/http1_parser_bench).
    s.trailers_.resize(s.trailer_fields_.size());
    const std::string_view buf = s.trailer_buf_;
    for (size_t i = 0; i < s.trailer_fields_.size(); ++i) {
      const TrailerSpan& t = s.trailer_fields_[i];
      s.trailers_[i] = {buf.substr(t.name_off, t.name_len), buf.substr(t.value_off, t.value_len)};
    }
  }
  if (s.head_.chunked) {
    // A proxy forwards the chunked body byte for byte, so its last line
    // must end as a strict peer expects: llhttp 8.1 also ends it on a bare
    // LF ("0\r\n\n"), after which a strict upstream would read the next
    // request on that connection as trailer fields (and a strict client the
    // next response). Stop here; execute() checks the bytes and only then
    // tells the handler.
    s.check_chunked_end_ = true;
    return HPE_PAUSED;
  }
  return s.handler_.onMessageComplete() == Next::Pause ? HPE_PAUSED : HPE_OK;
}

ExecResult Http1Parser::resultFor(llhttp_errno_t rc, const char* data, size_t len) {
  ExecResult r;
  switch (rc) {
    case HPE_OK:
      r.status = ExecResult::Status::Ok;
      r.consumed = len;
      return r;
    case HPE_PAUSED:
      r.status = ExecResult::Status::Paused;
      r.consumed = static_cast<size_t>(llhttp_get_error_pos(&parser_) - data);
      return r;
    case HPE_PAUSED_UPGRADE:
      r.status = ExecResult::Status::Upgrade;
      r.consumed = static_cast<size_t>(llhttp_get_error_pos(&parser_) - data);
      return r;
    default:
      break;
  }
  r.status = ExecResult::Status::Error;
  r.reason = llhttp_get_error_reason(&parser_);
  if (error_ != ParseError::None) {
    // One of our callbacks refused (a limit): llhttp reports HPE_USER, or
    // HPE_CB_HEADERS_COMPLETE when the refusal came from on_headers_complete.
    r.error = error_;
  } else if (isFramingError(rc)) {
    r.error = ParseError::AmbiguousFraming;
  } else if (rc == HPE_INVALID_EOF_STATE) {
    r.error = ParseError::Truncated;
  } else {
    r.error = ParseError::Malformed;
  }
  const char* pos = llhttp_get_error_pos(&parser_);
  r.consumed = (pos != nullptr && pos >= data && pos <= data + len) ? static_cast<size_t>(pos - data) : len;
  return r;
}

char Http1Parser::byteBefore(const char* data, const char* end, size_t back) const {
  const char* at = end - back;
  if (at >= data) {
    return *at;
  }
  const size_t before = static_cast<size_t>(data - at);  // 1 or 2
  return before <= 2 ? tail_[2 - before] : 0;
}

ExecResult Http1Parser::execute(const char* data, size_t len) {
  const uint64_t entry = fed_before_;
  ExecResult r = executeOnce(data, len);
  size_t done = 0;
  // Where the first trailer field in this call began, relative to data.
  size_t trailers_at = len;
  const auto noteTrailers = [&] {
    if (trailer_start_ != kNoTrailers && trailers_at == len) {
      trailers_at = trailer_start_ > entry ? static_cast<size_t>(trailer_start_ - entry) : 0;
    }
  };
  noteTrailers();
  while (check_chunked_end_) {
    check_chunked_end_ = false;
    const char* end = data + done + r.consumed;  // just past the message
    done += r.consumed;
    if (byteBefore(data, end, 2) != '\r' || byteBefore(data, end, 1) != '\n') {
      error_ = ParseError::Malformed;
      ExecResult e;
      e.status = ExecResult::Status::Error;
      e.error = ParseError::Malformed;
      e.reason = "Expected CRLF at the end of a chunked message";
      e.consumed = 0;  // nothing of it is to be forwarded
      return e;
    }
    if (handler_.onMessageComplete() == Next::Pause) {
      r.status = ExecResult::Status::Paused;  // llhttp is still paused right there: the caller resumes
      r.consumed = 0;
      break;
    }
    llhttp_resume(&parser_);
    if (done == len) {
      head_start_ = fed_before_;  // between messages, as executeOnce would have noted
      r.status = ExecResult::Status::Ok;
      r.consumed = 0;
      break;
    }
    r = executeOnce(data + done, len - done);
    noteTrailers();
  }
  r.consumed += done;
  r.before_trailers = trailers_at == len ? r.consumed : std::min(r.consumed, trailers_at);
  if (r.consumed >= 2) {
    tail_[0] = data[r.consumed - 2];
    tail_[1] = data[r.consumed - 1];
  } else if (r.consumed == 1) {
    tail_[0] = tail_[1];
    tail_[1] = data[0];
  }
  return r;
}

ExecResult Http1Parser::executeOnce(const char* data, size_t len) {
  chunk_ = data;
  if (len > 0) {
    paused_at_head_end_ = false;
  }
  const llhttp_errno_t rc = llhttp_execute(&parser_, data, len);
  ExecResult r = resultFor(rc, data, len);
  if (awaiting_value_ && building_ == Building::None && in_head_) [[unlikely]] {
    // The call ended between a field's colon and its value: count the LFs
    // of that stretch for checkFold, which sees only the last call's bytes.
    const char* from = colon_off_ > fed_before_ ? data + (colon_off_ - fed_before_) : data;
    for (const char* c = from; c < data + r.consumed; ++c) {
      gap_lfs_ += *c == '\n' ? 1 : 0;
    }
  }
  fed_before_ += r.consumed;
  if (r.status == ExecResult::Status::Ok && in_head_ && fed_before_ - head_start_ > limits_.max_head_bytes) {
    // Bytes that produced no span (padding whitespace, say) still count.
    r.status = ExecResult::Status::Error;
    r.error = ParseError::HeadTooLarge;
    r.reason = parseErrorName(r.error);
  }
  if (r.status == ExecResult::Status::Ok && !in_message_) {
    // Between messages the next one starts no earlier than here.
    head_start_ = fed_before_;
  }
  return r;
}

void Http1Parser::resume() { llhttp_resume(&parser_); }

void Http1Parser::reset() {
  llhttp_reset(&parser_);
  error_ = ParseError::None;
  building_ = Building::None;
  in_message_ = in_head_ = paused_at_head_end_ = false;
  saw_transfer_encoding_ = check_chunked_end_ = false;
  awaiting_value_ = head_folded_ = false;
  gap_lfs_ = 0;
  trailer_start_ = kNoTrailers;
  chunk_ext_bytes_ = 0;
  tail_[0] = tail_[1] = 0;
  fed_before_ = head_start_ = body_bytes_ = 0;
  arena_used_ = 0;
}

void Http1Parser::resumeAfterUpgrade() { llhttp_resume_after_upgrade(&parser_); }

ExecResult Http1Parser::finish() {
  // After a pause on the very last byte of a message or of a head, llhttp
  // has not yet stepped into the state that knows how the stream may end
  // (a body until close, an empty body): an empty execute gets it there.
  // Only then: mid-body an empty execute leaves llhttp's finish state wrong.
  static const char kNothing = 0;
  if (llhttp_get_errno(&parser_) == HPE_OK && (!in_message_ || paused_at_head_end_)) {
    chunk_ = &kNothing;
    llhttp_execute(&parser_, &kNothing, 0);
  }
  chunk_ = nullptr;
  const llhttp_errno_t rc = llhttp_finish(&parser_);
  ExecResult r = resultFor(rc, nullptr, 0);
  if (r.status == ExecResult::Status::Error && r.error == ParseError::Malformed) {
    r.error = ParseError::Truncated;
  }
  r.consumed = 0;
  return r;
}

}  // namespace plexgate::parsers
