#include "src/intent/nlu_fuzzy.hpp"

#include <algorithm>
#include <array>

namespace opsgate::intent::nlu {

std::size_t edit_distance(std::string_view a, std::string_view b, std::size_t cap) {
  const std::size_t n = a.size();
  const std::size_t m = b.size();
  const std::size_t diff = n > m ? n - m : m - n;
  if (diff > cap) {
    return cap + 1;
  }
  // Names are short; longer input is never a typo of a name, so a fixed
  // buffer avoids allocating on the request path.
  constexpr std::size_t kMax = 64;
  if (n >= kMax || m >= kMax) {
    return cap + 1;
  }
  std::array<std::array<std::size_t, kMax>, 3> rows{};  // i-2, i-1, i
  for (std::size_t j = 0; j <= m; ++j) {
    rows[1][j] = j;
  }
  for (std::size_t i = 1; i <= n; ++i) {
    auto& cur = rows[(i + 1) % 3];
    const auto& prev = rows[i % 3];
    const auto& prev2 = rows[(i + 2) % 3];
    cur[0] = i;
    std::size_t row_min = cur[0];
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      std::size_t best = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        best = std::min(best, prev2[j - 2] + 1);
      }
      cur[j] = best;
      row_min = std::min(row_min, best);
    }
    if (row_min > cap) {
      return cap + 1;
    }
  }
  return std::min(rows[(n + 1) % 3][m], cap + 1);
}

std::size_t tolerated_distance(std::size_t spelling_length) { return spelling_length >= 9 ? 2 : 1; }

FuzzyResult closest(std::string_view word, const std::vector<Spelling>& spellings, std::size_t min_word,
                    std::size_t min_spelling, std::size_t max_distance) {
  FuzzyResult result;
  if (word.size() < min_word) {
    return result;
  }
  std::size_t best = max_distance + 1;
  std::vector<int> best_owners;
  for (const auto& s : spellings) {
    if (s.text.size() < min_spelling) {
      continue;
    }
    const std::size_t allowed = std::min(max_distance, tolerated_distance(s.text.size()));
    const std::size_t d = edit_distance(word, s.text, allowed);
    if (d > allowed) {
      continue;
    }
    if (d < best) {
      best = d;
      best_owners.assign(1, s.owner);
    } else if (d == best && std::find(best_owners.begin(), best_owners.end(), s.owner) == best_owners.end()) {
      best_owners.push_back(s.owner);
    }
  }
  if (best_owners.empty() || best == 0) {
    // Distance 0 is an exact match, which is not ours to decide.
    return result;
  }
  result.distance = best;
  if (best_owners.size() == 1) {
    result.outcome = FuzzyResult::Outcome::unique;
    result.owner = best_owners.front();
    return result;
  }
  result.outcome = FuzzyResult::Outcome::tie;
  result.tied = std::move(best_owners);
  return result;
}

std::vector<int> nearest_owners(std::string_view word, const std::vector<Spelling>& spellings, std::size_t limit) {
  struct Scored {
    int owner;
    std::size_t distance;
    std::size_t order;
  };
  const std::size_t cap = std::max<std::size_t>(2, word.size() / 2);
  std::vector<Scored> scored;
  for (std::size_t i = 0; i < spellings.size(); ++i) {
    const auto& s = spellings[i];
    const std::size_t d = edit_distance(word, s.text, cap);
    if (d > cap) {
      continue;
    }
    auto it = std::find_if(scored.begin(), scored.end(), [&](const Scored& x) { return x.owner == s.owner; });
    if (it == scored.end()) {
      scored.push_back({s.owner, d, i});
    } else if (d < it->distance) {
      it->distance = d;
    }
  }
  std::stable_sort(scored.begin(), scored.end(),
                   [](const Scored& x, const Scored& y) { return x.distance < y.distance; });
  std::vector<int> out;
  for (const auto& s : scored) {
    if (out.size() >= limit) {
      break;
    }
    out.push_back(s.owner);
  }
  return out;
}

}  // namespace opsgate::intent::nlu
