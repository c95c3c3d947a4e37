#include "actions/exec/argv_template.hpp"

#include <algorithm>
#include <cstdint>

#include <tl/expected.hpp>

namespace opsgate::actions::exec {

namespace {

constexpr std::size_t kMaxValueLength = 128;

// Placeholders filled from the inventory rather than from the request: a
// request can never choose the namespace or deployment it acts on.
bool is_placement_placeholder(std::string_view name) { return name == "namespace" || name == "deployment"; }

bool is_known_placeholder(std::string_view name) {
  return std::find(std::begin(kPlaceholders), std::end(kPlaceholders), name) != std::end(kPlaceholders);
}

std::string known_placeholders() {
  std::string out;
  for (const auto name : kPlaceholders) {
    out += (out.empty() ? "{" : ", {") + std::string(name) + "}";
  }
  return out;
}

// One piece of an argument: literal text, or a placeholder.
struct Segment {
  bool placeholder = false;
  bool optional = false;
  std::string text;  // literal text, or the placeholder's name
};

// Splits an argument into segments. "{{" and "}}" are literal braces, so a
// template can still pass e.g. a kubectl jsonpath.
tl::expected<std::vector<Segment>, std::string> split_argument(const std::string& arg) {
  std::vector<Segment> out;
  std::string literal;
  std::size_t i = 0;
  while (i < arg.size()) {
    const char c = arg[i];
    if (c == '{' && i + 1 < arg.size() && arg[i + 1] == '{') {
      literal += '{';
      i += 2;
      continue;
    }
    if (c == '}' && i + 1 < arg.size() && arg[i + 1] == '}') {
      literal += '}';
      i += 2;
      continue;
    }
    if (c == '}') {
      return tl::unexpected<std::string>("unmatched '}' (write '}}' for a literal brace)");
    }
    if (c != '{') {
      literal += c;
      ++i;
      continue;
    }
    const std::size_t end = arg.find('}', i + 1);
    if (end == std::string::npos) {
      return tl::unexpected<std::string>("unclosed '{' (write '{{' for a literal brace)");
    }
    std::string name = arg.substr(i + 1, end - i - 1);
    const bool optional = !name.empty() && name.back() == '?';
    if (optional) {
      name.pop_back();
    }
    if (!is_known_placeholder(name)) {
      return tl::unexpected<std::string>("unknown placeholder {" + arg.substr(i + 1, end - i - 1) +
                            "} (known: " + known_placeholders() + ", each optionally as {name?})");
    }
    if (!literal.empty()) {
      out.push_back({false, false, std::move(literal)});
      literal.clear();
    }
    out.push_back({true, optional, std::move(name)});
    i = end + 1;
  }
  if (!literal.empty()) {
    out.push_back({false, false, std::move(literal)});
  }
  return out;
}

// Shows a refused value in an error message without letting it break the
// message: control characters are escaped and the length is capped.
std::string printable(std::string_view value) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (const char ch : value.substr(0, 64)) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += ch;
    }
  }
  if (value.size() > 64) {
    out += "...";
  }
  return out;
}

}  // namespace

std::optional<std::string> check_argv_template(const std::vector<std::string>& argv, const ActionSpec& spec) {
  if (argv.empty()) {
    return "the command is empty: give the program and its arguments, e.g. [scripts/demo-backend, restart, "
           "\"{env}\", \"{target}\"]";
  }
  if (argv.front().empty()) {
    return "the program (the first element of the command) is empty";
  }
  for (std::size_t index = 0; index < argv.size(); ++index) {
    const std::string& arg = argv[index];
    const std::string where = "argument " + std::to_string(index) + " \"" + arg + "\": ";
    auto segments = split_argument(arg);
    if (!segments) {
      return where + segments.error();
    }
    for (const auto& segment : *segments) {
      if (!segment.placeholder) {
        continue;
      }
      if (index == 0) {
        return "the program (the first element of the command) cannot contain a placeholder: which program "
               "runs is fixed by config, never by a request";
      }
      if (segment.optional && segments->size() != 1) {
        return where + "{" + segment.text + "?} must be the whole argument, because the argument is dropped when "
               "the request has no " + segment.text;
      }
      if (is_placement_placeholder(segment.text)) {
        if (spec.param("target") == nullptr || spec.param("env") == nullptr) {
          return where + "{" + segment.text + "} needs a target and an environment, and `" + spec.name +
                 "` has no target or env parameter";
        }
        continue;
      }
      if (spec.param(segment.text) == nullptr) {
        std::string params;
        for (const auto& p : spec.params) {
          params += (params.empty() ? "{" : ", {") + p.name + "}";
        }
        return where + "`" + spec.name + "` has no parameter " + segment.text + " (its placeholders: " + params +
               ", {namespace}, {deployment})";
      }
    }
  }
  return std::nullopt;
}

std::vector<std::string> placeholders_in(const std::vector<std::string>& argv) {
  std::vector<std::string> out;
  for (const auto& arg : argv) {
    auto segments = split_argument(arg);
    if (!segments) {
      continue;
    }
    for (const auto& segment : *segments) {
      if (segment.placeholder && std::find(out.begin(), out.end(), segment.text) == out.end()) {
        out.push_back(segment.text);
      }
    }
  }
  return out;
}

bool is_safe_value(std::string_view value) {
  if (value.empty() || value.size() > kMaxValueLength) {
    return false;
  }
  const auto alnum = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  };
  if (!alnum(value.front())) {
    return false;
  }
  return std::all_of(value.begin(), value.end(),
                     [&](char c) { return alnum(c) || c == '.' || c == '_' || c == '-'; });
}

Result<std::map<std::string, std::string>> placeholder_values(const ActionRequest& request,
                                                              const Inventory& inventory) {
  std::map<std::string, std::string> values;
  if (!request.params.is_object()) {
    return fail(Errc::invalid_input, "the parameters of `" + request.action + "` are not an object");
  }
  for (const auto& [key, value] : request.params.items()) {
    // Only request parameters may come from the request; namespace and
    // deployment always come from the inventory.
    if (!is_known_placeholder(key) || is_placement_placeholder(key) || value.is_null()) {
      continue;
    }
    if (value.is_string()) {
      values[key] = value.get<std::string>();
    } else if (value.is_number_unsigned()) {
      values[key] = std::to_string(value.get<std::uint64_t>());
    } else if (value.is_number_integer()) {
      values[key] = std::to_string(value.get<std::int64_t>());
    } else {
      return fail(Errc::invalid_input, "the parameter " + key + " of `" + request.action +
                                           "` must be text or a whole number, not " + printable(value.dump()));
    }
  }
  const auto target = values.find("target");
  const auto env = values.find("env");
  if (target != values.end() && env != values.end()) {
    if (const TargetPlacement* placement = inventory.placement(target->second, env->second)) {
      if (!placement->namespace_name.empty()) {
        values["namespace"] = placement->namespace_name;
      }
      if (!placement->deployment.empty()) {
        values["deployment"] = placement->deployment;
      }
    }
  }
  return values;
}

Result<std::vector<std::string>> render_argv(const std::vector<std::string>& argv,
                                             const std::map<std::string, std::string>& values,
                                             std::string_view action) {
  // Every value is checked, used or not, before anything is substituted: a
  // request that carries a hostile value is refused as a whole.
  for (const auto& [name, value] : values) {
    if (!is_safe_value(value)) {
      return fail(Errc::invalid_input,
                  "refusing to run `" + std::string(action) + "`: the " + name + " '" + printable(value) +
                      "' may contain only letters, digits, '.', '_' and '-', must start with a letter or digit "
                      "and be at most 128 characters long");
    }
  }
  std::vector<std::string> out;
  out.reserve(argv.size());
  for (const auto& arg : argv) {
    auto segments = split_argument(arg);
    if (!segments) {
      return fail(Errc::internal, "the command of `" + std::string(action) + "` was not checked at start-up: " +
                                      segments.error());
    }
    std::string rendered;
    bool dropped = false;
    for (const auto& segment : *segments) {
      if (!segment.placeholder) {
        rendered += segment.text;
        continue;
      }
      const auto found = values.find(segment.text);
      if (found != values.end()) {
        rendered += found->second;
        continue;
      }
      if (segment.optional) {
        dropped = true;
        continue;
      }
      if (is_placement_placeholder(segment.text)) {
        const auto target = values.find("target");
        const auto env = values.find("env");
        return fail(Errc::not_found,
                    "the command of `" + std::string(action) + "` needs the " + segment.text + " of " +
                        (target != values.end() ? target->second : std::string("the target")) + " in " +
                        (env != values.end() ? env->second : std::string("the environment")) +
                        ", but the inventory does not name one");
      }
      return fail(Errc::invalid_input, "the command of `" + std::string(action) + "` needs a " + segment.text +
                                           ", but the request has none");
    }
    if (!dropped) {
      out.push_back(std::move(rendered));
    }
  }
  return out;
}

}  // namespace opsgate::actions::exec
