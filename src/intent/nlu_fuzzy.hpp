#pragma once
// Typo tolerance for target and environment names: optimal-string-alignment
// edit distance (a swap of two neighbouring letters costs one) and a "clearly
// closest" rule that refuses ties. Pure functions; any thread.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace opsgate::intent::nlu {

// Edit distance with adjacent transpositions; stops early and returns cap + 1
// once the distance is known to exceed cap. Byte-wise: names are ASCII.
std::size_t edit_distance(std::string_view a, std::string_view b, std::size_t cap);

// One spelling of something we may match: a target name or alias, an env
// synonym. `owner` says what it spells, so two aliases of one target never tie.
struct Spelling {
  std::string text;  // lowercase
  int owner = -1;
};

struct FuzzyResult {
  enum class Outcome { none, unique, tie };
  Outcome outcome = Outcome::none;
  int owner = -1;           // when unique
  std::vector<int> tied;    // when tie: the owners that are equally close
  std::size_t distance = 0;
};

// The owner whose spelling is closest to `word`, if it is within the allowed
// distance and strictly closer than every other owner. Short words (fewer than
// `min_word` letters) and short spellings (fewer than `min_spelling`) never
// match: "cat" is not a typo of "cart", it is a word.
FuzzyResult closest(std::string_view word, const std::vector<Spelling>& spellings, std::size_t min_word,
                    std::size_t min_spelling, std::size_t max_distance);

// The distance tolerated for a spelling of this length: 1, or 2 for long names.
std::size_t tolerated_distance(std::size_t spelling_length);

// Owners ordered by how close their nearest spelling is to `word` (ties keep
// inventory order), for "did you mean" options. At most `limit` owners, and
// only those within half the word's length.
std::vector<int> nearest_owners(std::string_view word, const std::vector<Spelling>& spellings, std::size_t limit);

}  // namespace opsgate::intent::nlu
