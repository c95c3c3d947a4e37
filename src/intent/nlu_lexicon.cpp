#include "src/intent/nlu_lexicon.hpp"

#include <algorithm>
#include <array>
#include <unordered_map>
#include <unordered_set>

#include "src/intent/nlu_fuzzy.hpp"

namespace opsgate::intent::nlu {

namespace {

struct Row {
  std::string_view phrase;
  Concept meaning;
  std::string_view value = {};
};

using C = Concept;

// Phrases are normalised words joined by one space: "what's" is "whats",
// "req/s" is "req s". The longest phrase wins, so "tail latency" beats "tail"
// and "rollout status" beats "rollout".
constexpr Row kRows[] = {
    // --- write verbs
    {"restart", C::restart}, {"bounce", C::restart}, {"kick", C::restart}, {"recycle", C::restart},
    {"cycle", C::restart}, {"reboot", C::restart}, {"rolling restart", C::restart},
    {"do a rolling restart of", C::restart}, {"do a restart of", C::restart}, {"reload", C::restart},
    {"kick off", C::neutral}, {"kicked off", C::neutral},
    {"scale", C::scale}, {"scale up", C::scale}, {"scale down", C::scale}, {"scale out", C::scale},
    {"scale in", C::scale}, {"resize", C::scale},
    {"bump", C::scale_soft}, {"bump up", C::scale_soft}, {"increase", C::scale_soft}, {"raise", C::scale_soft},
    {"set", C::scale_soft}, {"give", C::scale_soft}, {"reduce", C::scale_soft}, {"decrease", C::scale_soft},
    {"lower", C::scale_soft}, {"add", C::scale_soft}, {"remove", C::scale_soft}, {"drop", C::scale_soft},
    {"deploy", C::deploy}, {"roll out", C::deploy}, {"promote", C::deploy}, {"roll forward", C::deploy},
    {"ship", C::deploy_soft}, {"push", C::deploy_soft}, {"release", C::deploy_soft}, {"rollout", C::deploy_soft},
    {"deployment", C::deploy_soft}, {"deploys", C::deploy_soft},
    {"upgrade", C::upgrade}, {"update", C::upgrade},
    {"redeploy", C::redeploy},
    {"rollback", C::undo}, {"roll back", C::undo}, {"roll-back", C::undo}, {"roll-out", C::deploy}, {"roll it back", C::undo}, {"revert", C::undo},
    {"undo", C::undo}, {"go back", C::undo}, {"downgrade", C::undo},

    // --- rollout status
    {"status", C::status}, {"rollout status", C::status}, {"deploy status", C::status},
    {"deployment status", C::status}, {"release status", C::status}, {"rollout progress", C::status},
    {"done", C::status_done}, {"finished", C::status_done}, {"finish", C::status_done},
    {"complete", C::status_done}, {"completed", C::status_done}, {"go through", C::status_done},
    {"gone through", C::status_done}, {"went through", C::status_done}, {"succeed", C::status_done},
    {"succeeded", C::status_done}, {"successful", C::status_done}, {"progress", C::status_done},
    {"in progress", C::status_done}, {"still rolling", C::status_done}, {"rolled out", C::status_done},
    {"land", C::status_done}, {"landed", C::status_done}, {"find out", C::neutral},
    {"rolling out", C::status_done}, {"still rolling out", C::status_done}, {"deploying", C::status_done},
    {"updated", C::status_done}, {"where are we with", C::status_done}, {"how far", C::status_done},
    {"how far along", C::status_done}, {"make it to", C::status_done}, {"made it to", C::status_done},
    {"whats live", C::running}, {"what is live", C::running},
    {"running", C::running}, {"whats running", C::running}, {"what is running", C::running},
    {"version", C::version_word}, {"versions", C::version_word}, {"tag", C::version_word},
    {"image", C::version_word}, {"build", C::version_word}, {"image tag", C::version_word},
    {"revision", C::revision_word}, {"rev", C::revision_word}, {"revision number", C::revision_word},
    {"replicas", C::replica_word}, {"replica", C::replica_word}, {"pods", C::replica_word}, {"pod", C::replica_word},
    {"instances", C::replica_word}, {"instance", C::replica_word}, {"copies", C::replica_word},
    {"containers", C::replica_word}, {"replica count", C::replica_word},
    {"more", C::relative}, {"extra", C::relative}, {"additional", C::relative}, {"fewer", C::relative},
    {"less", C::relative}, {"another", C::relative}, {"by", C::relative},

    // --- logs
    {"logs", C::logs_word}, {"log", C::logs_word}, {"logging", C::logs_word}, {"log lines", C::logs_word},
    {"log line", C::logs_word}, {"log entries", C::logs_word}, {"log messages", C::logs_word},
    {"stack traces", C::logs_word}, {"stack trace", C::logs_word}, {"stacktraces", C::logs_word},
    {"loglines", C::logs_word},
    {"lines", C::lines_word}, {"entries", C::lines_word}, {"messages", C::lines_word}, {"records", C::lines_word},
    {"grep", C::grep}, {"grep for", C::grep}, {"find", C::grep}, {"look for", C::grep},
    {"search for", C::grep}, {"tail", C::grep}, {"search through", C::grep}, {"search", C::grep},
    {"containing", C::contain_word}, {"contains", C::contain_word}, {"contain", C::contain_word},
    {"matching", C::contain_word}, {"mentioning", C::contain_word}, {"that mention", C::contain_word},
    {"with the text", C::contain_word}, {"with text", C::contain_word}, {"that say", C::contain_word},
    {"limit", C::limit_word}, {"top", C::limit_word},
    {"errors", C::errors_noun}, {"error", C::errors_noun}, {"err", C::errors_noun}, {"errs", C::errors_noun},
    {"error level", C::errors_noun}, {"errored", C::errors_noun},
    {"warnings", C::warn_noun}, {"warning", C::warn_noun}, {"warn", C::warn_noun}, {"warns", C::warn_noun},
    {"info", C::info_noun}, {"level", C::level_word},

    // --- alerts and audit
    {"alert", C::alerts_word}, {"alerts", C::alerts_word}, {"alerting", C::alerts_word}, {"firing", C::alerts_word},
    {"fired", C::alerts_word}, {"alarm", C::alerts_word}, {"alarms", C::alerts_word}, {"paging", C::alerts_word},
    {"going off", C::alerts_word}, {"pagerduty", C::alerts_word},
    {"audit", C::audit_word}, {"audit log", C::audit_word}, {"audit logs", C::audit_word},
    {"audit trail", C::audit_word}, {"audit history", C::audit_word}, {"audit events", C::audit_word},
    {"changelog", C::audit_word}, {"change log", C::audit_word}, {"history", C::audit_word},
    {"who", C::who}, {"whos", C::who}, {"who has", C::who}, {"who did", C::who},
    {"restarted", C::past_write}, {"deployed", C::past_write}, {"scaled", C::past_write},
    {"bounced", C::past_write}, {"rolled back", C::past_write}, {"reverted", C::past_write},
    {"shipped", C::past_write}, {"released", C::past_write}, {"kicked", C::past_write},
    {"touched", C::past_write}, {"recycled", C::past_write}, {"rebooted", C::past_write},
    {"what changed", C::changed}, {"whats changed", C::changed}, {"what has changed", C::changed},
    {"recent changes", C::changed}, {"changes to", C::changed}, {"changed", C::past_write},
    {"was done", C::changed}, {"were done", C::changed}, {"done to", C::changed}, {"opsgate done", C::changed},
    {"you done", C::changed}, {"did you do", C::changed}, {"have you done", C::changed},
    {"recent actions", C::audit_word}, {"actions on", C::audit_word}, {"actions taken", C::audit_word},
    {"how many times", C::how_often}, {"how often", C::how_often},

    // --- metrics
    {"error rate", C::metric, "error_rate"}, {"error rates", C::metric, "error_rate"},
    {"error-rate", C::metric, "error_rate"}, {"error_rate", C::metric, "error_rate"},
    {"errorrate", C::metric, "error_rate"}, {"failure rate", C::metric, "error_rate"},
    {"failure rates", C::metric, "error_rate"}, {"fail rate", C::metric, "error_rate"},
    {"err rate", C::metric, "error_rate"}, {"error ratio", C::metric, "error_rate"},
    {"error percentage", C::metric, "error_rate"}, {"errors per second", C::metric, "error_rate"},
    {"5xx", C::metric, "error_rate"}, {"5xx rate", C::metric, "error_rate"}, {"5xxs", C::metric, "error_rate"},
    {"5xx errors", C::metric, "error_rate"}, {"500 rate", C::metric, "error_rate"},
    {"error %", C::metric, "error_rate"}, {"success rate", C::metric, "error_rate"},
    {"failed requests", C::metric, "error_rate"}, {"failing requests", C::metric, "error_rate"},
    {"request failures", C::metric, "error_rate"}, {"errors ratio", C::metric, "error_rate"},
    {"p99", C::metric, "latency_p99"}, {"p99 latency", C::metric, "latency_p99"},
    {"p 99", C::metric, "latency_p99"}, {"tail latency", C::metric, "latency_p99"},
    {"tail latencies", C::metric, "latency_p99"}, {"99th percentile", C::metric, "latency_p99"},
    {"99th percentile latency", C::metric, "latency_p99"}, {"99 percentile", C::metric, "latency_p99"},
    {"99th pct", C::metric, "latency_p99"}, {"99th", C::metric, "latency_p99"},
    {"latency_p99", C::metric, "latency_p99"}, {"p99s", C::metric, "latency_p99"},
    {"p50", C::metric, "latency_p50"}, {"p50 latency", C::metric, "latency_p50"},
    {"p 50", C::metric, "latency_p50"}, {"median", C::metric, "latency_p50"},
    {"median latency", C::metric, "latency_p50"}, {"50th percentile", C::metric, "latency_p50"},
    {"50th", C::metric, "latency_p50"}, {"latency_p50", C::metric, "latency_p50"},
    {"median response time", C::metric, "latency_p50"}, {"median response times", C::metric, "latency_p50"},
    {"typical latency", C::metric, "latency_p50"}, {"typical response time", C::metric, "latency_p50"},
    {"typical response times", C::metric, "latency_p50"},
    {"rps", C::metric, "rps"}, {"qps", C::metric, "rps"}, {"requests per second", C::metric, "rps"},
    {"request per second", C::metric, "rps"}, {"queries per second", C::metric, "rps"},
    {"reqs per second", C::metric, "rps"}, {"req per second", C::metric, "rps"}, {"req s", C::metric, "rps"},
    {"reqs s", C::metric, "rps"}, {"requests s", C::metric, "rps"}, {"requests sec", C::metric, "rps"},
    {"request rate", C::metric, "rps"}, {"requests rate", C::metric, "rps"}, {"traffic", C::metric, "rps"},
    {"throughput", C::metric, "rps"}, {"how many requests", C::metric, "rps"}, {"hits per second", C::metric, "rps"},
    {"cpu", C::metric, "cpu"}, {"cpu usage", C::metric, "cpu"}, {"cpu utilization", C::metric, "cpu"},
    {"cpu utilisation", C::metric, "cpu"}, {"cpu load", C::metric, "cpu"}, {"processor", C::metric, "cpu"},
    {"memory", C::metric, "memory"}, {"mem", C::metric, "memory"}, {"ram", C::metric, "memory"},
    {"memory usage", C::metric, "memory"}, {"memory consumption", C::metric, "memory"},
    {"heap", C::metric, "memory"}, {"rss", C::metric, "memory"},
    {"restarts", C::metric, "restarts"}, {"restart count", C::metric, "restarts"},
    {"restart counts", C::metric, "restarts"}, {"restarts count", C::metric, "restarts"},
    {"number of restarts", C::metric, "restarts"}, {"pod restarts", C::metric, "restarts"},
    {"container restarts", C::metric, "restarts"}, {"restart rate", C::metric, "restarts"},
    {"latency", C::latency}, {"latencies", C::latency}, {"response time", C::latency},
    {"response times", C::latency},
    {"how many", C::metric_context}, {"how much", C::metric_context}, {"count", C::metric_context},
    {"number of", C::metric_context}, {"graph", C::metric_context}, {"plot", C::metric_context},
    {"chart", C::metric_context}, {"trend", C::metric_context}, {"rate", C::metric_context},
    {"per second", C::metric_context}, {"per minute", C::metric_context}, {"percentage", C::metric_context},
    {"p95", C::unsupported_metric}, {"p90", C::unsupported_metric}, {"p999", C::unsupported_metric},
    {"p75", C::unsupported_metric}, {"95th", C::unsupported_metric}, {"90th", C::unsupported_metric},
    {"95th percentile", C::unsupported_metric}, {"90th percentile", C::unsupported_metric},
    {"99.9th", C::unsupported_metric},

    // --- triage
    {"slow", C::symptom}, {"slowness", C::symptom}, {"sluggish", C::symptom}, {"laggy", C::symptom},
    {"lagging", C::symptom}, {"down", C::symptom}, {"broken", C::symptom}, {"broke", C::symptom},
    {"failing", C::symptom}, {"fails", C::symptom}, {"erroring", C::symptom}, {"erroring out", C::symptom},
    {"crashing", C::symptom}, {"crashlooping", C::symptom}, {"crash looping", C::symptom},
    {"crash-looping", C::symptom}, {"crashloop", C::symptom}, {"crash loop", C::symptom},
    {"timing out", C::symptom}, {"times out", C::symptom}, {"on fire", C::symptom},
    {"acting weird", C::symptom}, {"acting up", C::symptom}, {"acting strange", C::symptom},
    {"acting funny", C::symptom}, {"weird", C::symptom}, {"not working", C::symptom},
    {"isnt working", C::symptom}, {"doesnt work", C::symptom}, {"not responding", C::symptom},
    {"unresponsive", C::symptom}, {"unhealthy", C::symptom}, {"degraded", C::symptom},
    {"flaky", C::symptom}, {"hanging", C::symptom}, {"hung", C::symptom}, {"stuck", C::symptom},
    {"outage", C::symptom}, {"falling over", C::symptom}, {"dying", C::symptom}, {"dead", C::symptom},
    {"having issues", C::symptom}, {"having problems", C::symptom}, {"having trouble", C::symptom},
    {"struggling", C::symptom}, {"melting", C::symptom}, {"melting down", C::symptom},
    {"keeps restarting", C::symptom}, {"restarting", C::symptom}, {"oom", C::symptom},
    {"oomkilled", C::symptom}, {"out of memory", C::symptom}, {"overloaded", C::symptom},
    {"spiking", C::symptom}, {"spikes", C::symptom}, {"spiked", C::symptom}, {"through the roof", C::symptom},
    {"flapping", C::symptom}, {"exploding", C::symptom}, {"tanking", C::symptom}, {"blowing up", C::symptom},
    {"somethings off", C::health}, {"something is off", C::health}, {"something off", C::health},
    {"throwing", C::symptom_verb}, {"returning", C::symptom_verb}, {"spitting", C::symptom_verb},
    {"spitting out", C::symptom_verb}, {"seeing", C::symptom_verb}, {"getting", C::symptom_verb},
    {"serving", C::symptom_verb}, {"lots of", C::symptom_verb}, {"tons of", C::symptom_verb},
    {"500s", C::symptom_noun}, {"502s", C::symptom_noun}, {"503s", C::symptom_noun}, {"504s", C::symptom_noun},
    {"500 errors", C::symptom_noun}, {"502 errors", C::symptom_noun}, {"503 errors", C::symptom_noun},
    {"timeouts", C::symptom_noun}, {"timeout errors", C::symptom_noun}, {"exceptions", C::symptom_noun},
    {"investigate", C::investigate}, {"triage", C::investigate}, {"debug", C::investigate},
    {"diagnose", C::investigate}, {"look into", C::investigate}, {"dig into", C::investigate},
    {"take a look", C::investigate}, {"have a look", C::investigate}, {"check on", C::investigate},
    {"check up on", C::investigate}, {"troubleshoot", C::investigate}, {"look at", C::investigate},
    {"whats going on", C::health}, {"what is going on", C::health}, {"going on", C::health},
    {"whats wrong", C::health}, {"what is wrong", C::health}, {"wrong with", C::health},
    {"whats up with", C::health}, {"what is up with", C::health}, {"what happened", C::health},
    {"happening", C::health}, {"problem with", C::health}, {"problems with", C::health},
    {"issue with", C::health}, {"issues with", C::health}, {"healthy", C::health}, {"health", C::health},
    {"doing", C::health}, {"something wrong", C::health}, {"anything wrong", C::health},
    {"show", C::read_verb}, {"show me", C::read_verb}, {"list", C::read_verb}, {"get", C::read_verb},
    {"get me", C::read_verb}, {"give me", C::read_verb}, {"display", C::read_verb}, {"print", C::read_verb},
    {"fetch", C::read_verb}, {"pull", C::read_verb}, {"pull up", C::read_verb}, {"see", C::read_verb},
    {"view", C::read_verb}, {"check", C::read_verb}, {"what", C::read_verb}, {"whats", C::read_verb},
    {"what is", C::read_verb}, {"what are", C::read_verb}, {"which", C::read_verb}, {"any", C::read_verb},
    {"are there", C::read_verb}, {"is there", C::read_verb}, {"were there", C::read_verb},
    {"was there", C::read_verb}, {"tell me", C::read_verb}, {"how", C::read_verb}, {"hows", C::read_verb},
    {"how is", C::read_verb}, {"how are", C::read_verb}, {"lookup", C::read_verb}, {"look up", C::read_verb},
    {"current", C::read_verb}, {"anything", C::read_verb},
    {"stop", C::vague}, {"fix", C::vague}, {"kill", C::vague}, {"halt", C::vague}, {"make it stop", C::vague},
    {"sort out", C::vague}, {"sort it out", C::vague}, {"deal with", C::vague}, {"handle", C::vague},

    // --- meta
    {"approve", C::approve}, {"approve request", C::approve}, {"accept", C::approve}, {"lgtm", C::approve},
    {"deny", C::deny}, {"reject", C::deny}, {"decline", C::deny}, {"refuse", C::deny}, {"veto", C::deny},
    {"deny request", C::deny}, {"reject request", C::deny},
    {"cancel", C::cancel}, {"withdraw", C::cancel}, {"retract", C::cancel}, {"cancel request", C::cancel},
    {"approval", C::approval_noun}, {"approvals", C::approval_noun}, {"approval requests", C::approval_noun},
    {"to approve", C::approval_noun}, {"needs approval", C::approval_noun}, {"need approval", C::approval_noun},
    {"awaiting approval", C::approval_noun}, {"pending requests", C::approval_noun},
    {"sign off", C::approval_noun}, {"sign-off", C::approval_noun},
    {"pending", C::pending}, {"waiting", C::pending}, {"open", C::pending}, {"outstanding", C::pending},
    {"queued", C::pending}, {"awaiting", C::pending},
    {"help", C::help}, {"commands", C::help}, {"usage", C::help}, {"what can you do", C::help},
    {"what do you do", C::help}, {"what can i ask", C::help}, {"what can i say", C::help},
    {"how do i use", C::help}, {"how does this work", C::help}, {"how to use", C::help},
    {"what can i do", C::help}, {"what are you", C::help}, {"what do you support", C::help},
    {"capabilities", C::help}, {"what can you help", C::help}, {"how do you work", C::help},
    {"who am i", C::whoami}, {"whoami", C::whoami}, {"who i am", C::whoami}, {"my roles", C::whoami},
    {"my role", C::whoami}, {"my permissions", C::whoami}, {"my groups", C::whoami},
    {"what roles", C::whoami}, {"what permissions", C::whoami}, {"which roles", C::whoami},
    {"what groups", C::whoami}, {"am i allowed", C::whoami}, {"who do you think i am", C::whoami},
};

const std::unordered_map<std::string, LexEntry>& table() {
  static const std::unordered_map<std::string, LexEntry> t = [] {
    std::unordered_map<std::string, LexEntry> m;
    for (const auto& row : kRows) {
      m.emplace(std::string(row.phrase), LexEntry{row.meaning, row.value});
    }
    return m;
  }();
  return t;
}

bool in(const std::unordered_set<std::string_view>& set, std::string_view word) { return set.count(word) > 0; }

// The words a typo is corrected to: the verbs and nouns a request turns on.
// Short or common words are left out ("sale" must not become "scale").
constexpr std::string_view kKeywords[] = {
    "restart", "bounce",   "deploy", "rollback", "revert",  "scale",  "replicas", "rollout", "status",
    "logs",    "error",    "errors", "warnings", "latency", "memory", "traffic",  "throughput", "alerts",
    "firing",  "approvals",
};

}  // namespace

std::optional<std::string> verb_of_gerund(std::string_view word) {
  if (word.size() < 6 || word.substr(word.size() - 3) != "ing") {
    return std::nullopt;
  }
  const std::string stem(word.substr(0, word.size() - 3));
  const auto& t = table();
  for (std::string candidate : {stem, stem + "e", stem.substr(0, stem.size() - 1)}) {
    if (auto it = t.find(candidate); it != t.end() && it->second.meaning != C::neutral) {
      return candidate;
    }
  }
  return std::nullopt;
}

std::optional<std::string_view> keyword_for_typo(std::string_view word) {
  if (word.size() < 4) {
    return std::nullopt;
  }
  std::optional<std::string_view> found;
  for (std::string_view k : kKeywords) {
    if (k == word) {
      return std::nullopt;
    }
    if (edit_distance(word, k, 1) != 1) {
      continue;
    }
    if (word.size() == 4 && k.size() == 4) {
      // Four letters: a swap ("lgos") or a lost letter ("eror"), never a
      // changed letter ("logo").
      std::string a(word);
      std::string b(k);
      std::sort(a.begin(), a.end());
      std::sort(b.begin(), b.end());
      if (a != b) {
        continue;
      }
    }
    if (found) {
      return std::nullopt;  // two keywords as close: not a typo we can read
    }
    found = k;
  }
  return found;
}

bool is_question_opener(std::string_view word) {
  static const std::unordered_set<std::string_view> kOpeners{
      "is", "are", "has", "have", "did", "does", "do", "was", "were", "where", "how", "when", "why",
      "hows", "wheres", "whens", "whys", "isnt", "arent", "hasnt", "didnt", "will", "whats", "what", "which"};
  return in(kOpeners, word);
}

std::optional<PhraseMatch> match_phrase(std::span<const std::string> words, std::size_t i) {
  const auto& t = table();
  const std::size_t longest = std::min(kMaxPhraseWords, words.size() - std::min(i, words.size()));
  std::string key;
  for (std::size_t n = longest; n >= 1; --n) {
    key.clear();
    for (std::size_t k = 0; k < n; ++k) {
      if (k > 0) {
        key += ' ';
      }
      key += words[i + k];
    }
    if (auto it = t.find(key); it != t.end()) {
      return PhraseMatch{it->second, n};
    }
  }
  return std::nullopt;
}

bool is_filler(std::string_view word) {
  static const std::unordered_set<std::string_view> kFillers{
      "the", "a", "an", "of", "for", "in", "on", "at", "to", "from", "with", "into", "onto", "about",
      "under", "since", "during", "within", "across", "between", "via", "per", "or", "but", "so", "is",
      "are", "was", "were", "be", "been", "being", "am", "do", "does", "did", "have", "has", "had",
      "having", "it", "its", "this", "that", "these", "those", "there", "here", "me", "my", "mine", "i",
      "we", "us", "our", "ours", "you", "your", "u", "he", "she", "they", "them", "their", "please",
      "pls", "plz", "service", "services", "svc", "app", "apps", "application", "env", "environment",
      "cluster", "namespace", "now", "right", "currently", "again", "just", "some", "all", "up", "out",
      "really", "very", "so", "too", "bit", "little", "much", "many", "quite", "pretty", "still", "yet",
      "already", "ever", "recently", "lately", "like", "looking", "look", "seem", "seems", "appears",
      "same", "other", "last", "past", "previous", "recent", "latest", "ago", "back", "real", "quick",
      "quickly", "kindly", "hey", "hi", "hello", "yo", "team", "folks", "guys", "ok", "okay", "yes",
      "no", "not", "can", "could", "would", "will", "should", "might", "may", "must", "shall", "let",
      "lets", "want", "need", "needs", "wanna", "gonna", "going", "got", "make", "tell", "know", "think",
      "one", "thing", "things", "stuff", "something", "everything", "nothing", "bot", "opsgate", "use",
      "using", "used", "work", "working", "run", "value", "values", "number", "data", "stats",
      "statistics", "metrics", "metric", "numbers", "utilization", "consumption", "usage", "figures",
      "dashboard", "why", "when", "where", "hows", "wheres", "myself", "as", "if", "than", "because",
      "each", "every", "both", "either", "whole", "entire", "total", "and", "then", "also", "plus",
      "admin", "administrator", "sudo", "root", "superuser", "rights", "privileges", "permission",
      "access", "skip", "bypass", "without", "owner", "asap", "immediately", "maybe", "perhaps", "again",
      "it", "them", "ones", "right", "away", "soon", "today", "yesterday", "tonight", "morning",
      "afternoon", "evening", "night", "week", "day", "hour", "minute", "time", "times", "currently",
      "being", "been", "such", "anyone", "someone", "everyone", "somebody", "anybody", "ask", "said",
      "says", "say", "go", "ahead", "try", "id", "ill", "im", "ive", "youre", "theyre", "were",
      "whole", "kind", "sort", "via", "usage", "using", "happen", "state", "level", "levels", "env",
      "prod-like", "stack", "new", "old", "previous", "next", "first", "second", "whatever", "thx",
      "cheers", "hmm", "hm", "um", "uh", "yeah", "yep", "nope", "sure", "cool", "nice", "great",
      "awesome", "good", "bad", "fine", "well", "about", "around", "near", "live-ish", "too", "either",
      "whats", "what", "which", "who", "how", "show", "list", "get", "give", "see", "lines", "line",
      "request", "requests", "req", "reqs", "ticket", "approval", "number", "no", "#",
  };
  return in(kFillers, word);
}

bool is_polite(std::string_view word) {
  static const std::unordered_set<std::string_view> kPolite{
      "please", "pls", "plz", "kindly", "can", "could", "would", "will", "you", "u", "we", "i", "id",
      "like", "want", "wanna", "need", "to", "go", "ahead", "lets", "let", "us", "just", "quickly",
      "now", "hey", "hi", "hello", "ok", "okay", "so", "opsgate", "bot", "then", "also", "try", "yo",
      "alright", "asap", "immediately", "maybe", "perhaps", "and", "ill", "gonna",
      "someone", "somebody", "time", "right", "away", "again", "folks", "team", "guys", "all",
      "mind", "mate",
  };
  return in(kPolite, word);
}

bool is_conjunction(std::string_view word) {
  static const std::unordered_set<std::string_view> kConjunctions{"and", "then", "also", "plus", "&", "afterwards",
                                                                  "after", "but", "while"};
  return in(kConjunctions, word);
}

bool is_duration_marker(std::string_view word) {
  static const std::unordered_set<std::string_view> kMarkers{"last", "past", "previous", "over", "in", "within",
                                                             "for", "since", "during", "the", "ago"};
  return in(kMarkers, word);
}

}  // namespace opsgate::intent::nlu
