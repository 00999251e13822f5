#include "engine/config/yaml_util.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <sstream>
#include <utility>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>

namespace plexgate::config::detail {

namespace {

// Longer values are cut in messages: a 16k body helps nobody on one line.
constexpr size_t kMaxShownBytes = 60;
// Typos are short; comparing a pasted paragraph against every key is waste.
constexpr size_t kMaxSuggestLength = 64;
constexpr size_t kMaxSuggestDistance = 2;
constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

std::string toLower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

// Every event consumes input except a few empty nodes, so a healthy parse of
// N bytes emits far fewer than this; more means yaml-cpp is spinning.
size_t maxEvents(size_t inputBytes) {
  return 8 * inputBytes + 64;
}

class StreamChecker : public YAML::EventHandler {
 public:
  // Marks count bytes after a UTF-8 byte order mark; `text` must be UTF-8.
  explicit StreamChecker(std::string_view text)
      : text_(text), offset_(text.starts_with(kUtf8Bom) ? kUtf8Bom.size() : 0) {}

  void OnDocumentStart(const YAML::Mark& mark) override {
    // A document must start past the previous one, or the parser is stuck.
    if (documents_ > 0 && mark.pos <= lastStart_) {
      stuck(mark);
    }
    lastStart_ = mark.pos;
    ++documents_;
    event(mark);
  }
  void OnDocumentEnd() override { event(last_); }
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { node(mark, true); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { node(mark, false); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                const std::string&) override {
    node(mark, false);
    checkQuoteClosed(mark);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    node(mark, false);
  }
  void OnSequenceEnd() override { event(last_); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    node(mark, false);
  }
  void OnMapEnd() override { event(last_); }

 private:
  void node(const YAML::Mark& mark, bool isNull) {
    event(mark);
    // "a: 1\n---\n" ends with an empty document; harmless, so allowed.
    if (documents_ > 1 && !isNull) {
      fail(lineOf(mark), "", "expected a single YAML document, but another one starts here");
    }
  }

  void event(const YAML::Mark& mark) {
    last_ = mark;
    if (++events_ > maxEvents(text_.size())) {
      stuck(mark);
    }
  }

  // yaml-cpp 0.7 ends a quoted scalar that is never closed at the end of the
  // input without complaint, swallowing every line after the opening quote
  // into the value ("body: \"hi" then "status: 500" loads as one body). The
  // scalar's mark is at its properties (tag, anchor) or its first byte.
  void checkQuoteClosed(const YAML::Mark& mark) const {
    if (mark.pos < 0) {
      return;
    }
    size_t i = static_cast<size_t>(mark.pos) + offset_;
    // Skip "!tag" and "&anchor" properties, and the space or comments after them.
    while (i < text_.size() && (text_[i] == '!' || text_[i] == '&')) {
      while (i < text_.size() && !isBlank(text_[i])) {
        ++i;
      }
      while (i < text_.size() && (isBlank(text_[i]) || text_[i] == '#')) {
        if (text_[i] == '#') {
          while (i < text_.size() && text_[i] != '\n') {
            ++i;
          }
        } else {
          ++i;
        }
      }
    }
    if (i >= text_.size() || (text_[i] != '"' && text_[i] != '\'')) {
      return;
    }
    const char quote = text_[i];
    for (++i; i < text_.size(); ++i) {
      if (quote == '"' && text_[i] == '\\') {
        ++i;  // an escape: the next byte is never the closing quote
      } else if (text_[i] == quote) {
        if (quote == '\'' && i + 1 < text_.size() && text_[i + 1] == '\'') {
          ++i;  // '' is a quote inside a single-quoted string
        } else {
          return;
        }
      }
    }
    fail(lineOf(mark), "",
         std::string("YAML syntax error: the ") + (quote == '"' ? "double" : "single") +
             "-quoted string starting on this line is never closed");
  }

  static bool isBlank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

  [[noreturn]] void stuck(const YAML::Mark& mark) const {
    if (mark.pos >= 0 && static_cast<size_t>(mark.pos) < text_.size()) {
      const size_t at = static_cast<size_t>(mark.pos) + offset_;
      if (at < text_.size()) {
        fail(lineOf(mark), "", "YAML syntax error: unexpected " + quoted(text_.substr(at, 1)));
      }
    }
    fail(lineOf(mark), "", "YAML syntax error: the parser stopped making progress");
  }

  static int lineOf(const YAML::Mark& mark) { return mark.line < 0 ? 1 : mark.line + 1; }

  std::string_view text_;
  size_t offset_ = 0;
  YAML::Mark last_;
  size_t events_ = 0;
  size_t documents_ = 0;
  int lastStart_ = -1;
};

// Length of the UTF-8 sequence at text[i], or 0 when it is not one (bad lead
// or continuation byte, overlong form, surrogate, past U+10FFFF, cut short).
size_t utf8Length(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  if (lead < 0x80) {
    return 1;
  }
  size_t length = 0;
  unsigned char low = 0x80;  // bounds of the second byte
  unsigned char high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    low = lead == 0xE0 ? 0xA0 : 0x80;
    high = lead == 0xED ? 0x9F : 0xBF;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    low = lead == 0xF0 ? 0x90 : 0x80;
    high = lead == 0xF4 ? 0x8F : 0xBF;
  } else {
    return 0;
  }
  if (i + length > text.size() || byte(i + 1) < low || byte(i + 1) > high) {
    return 0;
  }
  for (size_t k = 2; k < length; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) {
      return 0;
    }
  }
  return length;
}

// yaml-cpp passes bytes that are not UTF-8 through into values and keys (and
// so into messages and onto the wire); YAML streams are Unicode, and ours are
// UTF-8, so such a file is refused where its first bad byte is.
void checkUtf8(std::string_view text) {
  if (text.starts_with("\xFE\xFF") || text.starts_with("\xFF\xFE") ||
      text.starts_with(std::string_view("\0\0\xFE\xFF", 4))) {
    fail(1, "", "the file is UTF-16 or UTF-32; save it as UTF-8");
  }
  int line = 1;
  for (size_t i = 0; i < text.size();) {
    const size_t length = utf8Length(text, i);
    if (length == 0) {
      char hex[8];
      std::snprintf(hex, sizeof(hex), "0x%02X", static_cast<unsigned char>(text[i]));
      fail(line, "", std::string("the file is not valid UTF-8 (byte ") + hex + " on this line)");
    }
    if (text[i] == '\n') {
      ++line;
    }
    i += length;
  }
}

}  // namespace

void checkSingleDocument(std::string_view yaml) {
  checkUtf8(yaml);
  std::istringstream in{std::string(yaml)};
  YAML::Parser parser(in);
  StreamChecker checker(yaml);
  while (parser.HandleNextDocument(checker)) {
  }
}

void fail(int line, std::string key, std::string message) {
  throw LoadFailure{line, std::move(key), std::move(message)};
}

int lineOf(const YAML::Node& node, int fallback) {
  if (!node.IsDefined()) {
    return fallback;
  }
  const YAML::Mark mark = node.Mark();
  if (mark.is_null() || mark.line < 0) {
    return fallback;
  }
  return mark.line + 1;
}

std::string printable(std::string_view text) {
  bool cut = false;
  if (text.size() > kMaxShownBytes) {
    size_t end = kMaxShownBytes - 3;
    // Back up to a UTF-8 lead byte so the message stays valid UTF-8.
    while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) {
      --end;
    }
    text = text.substr(0, end);
    cut = true;
  }
  std::string out;
  out.reserve(text.size() + 3);
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (byte < 0x20 || byte == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02X", byte);
      out += buf;
    } else {
      out += c;
    }
  }
  if (cut) {
    out += "...";
  }
  return out;
}

std::string quoted(std::string_view text) {
  return "'" + printable(text) + "'";
}

std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      return quoted(node.Scalar());
    case YAML::NodeType::Sequence:
      return "a sequence";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Null:
      return "null";
    case YAML::NodeType::Undefined:
      break;
  }
  return "nothing";
}

std::string childPath(const std::string& parent, std::string_view key) {
  if (parent.empty()) {
    return printable(key);
  }
  return parent + "." + printable(key);
}

std::string indexPath(const std::string& parent, size_t index) {
  return parent + "[" + std::to_string(index) + "]";
}

size_t editDistance(std::string_view a, std::string_view b) {
  // Three rolling rows: two back is needed for transpositions.
  std::vector<size_t> twoBack(b.size() + 1), prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) {
    prev[j] = j;
  }
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        cur[j] = std::min(cur[j], twoBack[j - 2] + 1);
      }
    }
    std::swap(twoBack, prev);
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

MapReader::MapReader(const YAML::Node& node, std::string path, int line,
                     std::optional<std::vector<std::string_view>> allowed,
                     std::string_view expected)
    : path_(std::move(path)), line_(line), allowed_(std::move(allowed)) {
  if (!node.IsMap()) {
    fail(line, path_, "expected " + std::string(expected) + ", got " + describe(node));
  }
  line_ = lineOf(node, line);
  std::map<std::string, int, std::less<>> firstLine;
  for (auto it = node.begin(); it != node.end(); ++it) {
    const YAML::Node keyNode = it->first;
    const int keyLine = lineOf(keyNode, line_);
    if (!keyNode.IsScalar()) {
      fail(keyLine, path_, "expected a string as key, got " + describe(keyNode));
    }
    MapEntry entry;
    entry.key = keyNode.Scalar();
    entry.path = childPath(path_, entry.key);
    entry.key_line = keyLine;
    entry.value = it->second;
    entry.line = entry.value.IsNull() ? keyLine : lineOf(entry.value, keyLine);

    if (allowed_ && std::find(allowed_->begin(), allowed_->end(), entry.key) == allowed_->end()) {
      if (entry.key == "<<") {
        fail(keyLine, entry.path, "YAML merge keys ('<<') are not supported; write the keys out");
      }
      fail(keyLine, entry.path, unknownKeyMessage(entry.key));
    }
    const auto [seen, inserted] = firstLine.emplace(entry.key, keyLine);
    if (!inserted) {
      fail(keyLine, entry.path,
           "duplicate key (first defined on line " + std::to_string(seen->second) + ")");
    }
    entries_.push_back(std::move(entry));
  }
}

const MapEntry* MapReader::find(std::string_view key) const {
  for (const MapEntry& entry : entries_) {
    if (entry.key == key) {
      return &entry;
    }
  }
  return nullptr;
}

void MapReader::require(std::string_view key) const {
  if (find(key) == nullptr) {
    fail(line_, path_, "missing required key '" + std::string(key) + "'");
  }
}

std::string MapReader::unknownKeyMessage(std::string_view key) const {
  if (allowed_->empty()) {
    return "unknown key (expected an empty mapping)";
  }
  if (key.size() <= kMaxSuggestLength) {
    const std::string lower = toLower(key);
    std::string_view best;
    size_t bestDistance = kMaxSuggestDistance + 1;
    for (std::string_view candidate : *allowed_) {
      // Case-blind, so serviceid finds serviceId as readily as Workers finds workers.
      const size_t distance = editDistance(lower, toLower(candidate));
      if (distance < bestDistance) {
        best = candidate;
        bestDistance = distance;
      }
    }
    if (!best.empty()) {
      return "unknown key; did you mean '" + std::string(best) + "'?";
    }
  }
  std::string message = "unknown key (expected one of: ";
  for (size_t i = 0; i < allowed_->size(); ++i) {
    message += (i == 0 ? "" : ", ") + std::string((*allowed_)[i]);
  }
  return message + ")";
}

}  // namespace plexgate::config::detail
