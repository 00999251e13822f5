// Request-target and Host checks a gateway makes before it routes: the
// absolute-form split (RFC 9112 3.2.2), the Host value grammar (RFC 9110
// 7.2, RFC 3986 3.2.2), dot segments a client could use to step out of a
// routed prefix once the upstream resolves them, and the tokens of a
// comma-separated field such as Connection. Pure functions over views of
// the caller's bytes; no allocation.
#pragma once

#include <optional>
#include <string_view>

namespace plexgate::parsers {

// "http://host:port/p?q" split into its parts, all views into the target.
struct AbsoluteForm {
  bool valid = false;               // false: absolute-form, but not one a gateway may serve (400)
  std::string_view authority;       // "host:port", never empty when valid
  std::string_view path_and_query;  // "/p?q"; empty when the target has neither (means "/")
  bool query_without_path = false;  // "http://h?q": the origin-form is "/" + path_and_query
};

// nullopt for origin-form ("/..."), asterisk-form ("*") and anything else
// that is not scheme "://" authority: those are left to routing. For an
// absolute-form target the scheme must be http or https, the authority a
// valid host (no userinfo, see validHost) and a fragment is refused.
std::optional<AbsoluteForm> splitAbsoluteForm(std::string_view target);

// RFC 9110 7.2 / RFC 3986 3.2.2: uri-host [ ":" port ], where uri-host is
// an IP-literal in brackets or a reg-name / IPv4 address made of
// unreserved, pct-encoded and sub-delims characters. Empty is valid (a
// target without authority). Userinfo ('@'), '/', spaces, quotes and
// control bytes are not.
bool validHost(std::string_view host);

// True when the path (the target up to '?' or '#') has a "." or ".."
// segment, spelled plainly or percent-encoded (%2e), with '/' or '\' (or
// %2f / %5c) as the separator: an upstream that resolves it could leave the
// prefix plexgate routed on or rewrote.
bool hasDotSegment(std::string_view target);

// True when the comma-separated list `value` (a Connection field, say) has
// `token`, compared case-insensitively with optional whitespace around it.
bool listHasToken(std::string_view value, std::string_view token);

}  // namespace plexgate::parsers
