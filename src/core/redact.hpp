#pragma once
// Secret redaction for text that leaves opsgate: log lines shown in chat,
// upstream error bodies, anything written to the audit log from a backend.

#include <string>
#include <string_view>

namespace opsgate {

// What replaces each secret.
inline constexpr std::string_view kRedacted = "[REDACTED]";

// Returns `line` with credentials replaced by [REDACTED]. One pass, no regex,
// linear in the length of the line (microseconds per log line). It finds:
//   - `Bearer <token>` anywhere (case-insensitive; the token must look like one:
//     8+ characters with a digit or one of . _ - ~ + / =), and the value of an
//     `Authorization` key whatever its scheme (`Authorization: Basic dXNl...`);
//   - values of keys ending in password, passwd, pwd, secret, token, api_key,
//     apikey, secret_key, access_key, private_key or credentials (`-` and `.`
//     count as `_`, case-insensitive) in logfmt (`password=x`, `token="a b"`),
//     URL query (`?api_key=x&`), JSON (`"password": "x"`, also escaped inside
//     a string: `\"password\":\"x\"`), ini (`aws_secret_access_key = x`) and
//     YAML (`password: x`, for password-like keys only, so that "invalid
//     token: expired" stays readable);
//   - the password of URL userinfo (`https://user:pass@host`);
//   - AWS access key ids (AKIA/ASIA + 16 upper-case letters or digits);
//   - JWTs (three base64url segments, the first starting with eyJ);
//   - PEM private key blocks, BEGIN to END (to the end of the line when the
//     END is not on it);
//   - Slack tokens (xoxa-, xoxb-, xoxp-, xoxr-) and GitHub tokens (ghp_,
//     gho_, ghu_, ghs_, ghr_, github_pat_).
// A bare value ends at white space or one of & " ' \ , ; ) ] }, so a password
// containing those characters is only partly hidden unless it is quoted.
// Idempotent: redacting twice gives the same text.
std::string redact_secrets(std::string_view line);

}  // namespace opsgate
