// bench_report.hpp - the one summary format every benchmark program prints, so that tools/bench.sh can gather them
// into one table:
//
//   ratio | <section> | <what: path / baseline> | <path ns> | <baseline ns> | <ratio>x | goal <= <g>x | met
//
// (`goal -` and `-` when a line has no goal; `MISSED` when the ratio is over its goal). Extra facts a goal needs
// (heap allocations per request, ...) go on `fact | <section> | <what> | <value>` lines.
//
//   bench::summary_reporter rep;
//   benchmark::RunSpecifiedBenchmarks(&rep);
//   rep.ratio("a", "MAP_DMA: builder / C", "BM_map_dma_builder", "BM_map_dma_c", 1.05);
//   bench::fact("a", "MAP_DMA heap allocations per request", "0");
// Nothing fails on a ratio: speed goals are reported, not enforced.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace bench {

/// Prints the usual console table and records each run's real time per item (per iteration when the run set no
/// `batch` counter; divided by it when it did). With --benchmark_repetitions=N the median aggregate is recorded
/// (under the benchmark's own name), and no single repetition replaces it. summary_reporter{true} records CPU time
/// instead: for host programs on a shared machine, where real time also counts the time the process waited for a
/// core.
class summary_reporter : public benchmark::ConsoleReporter {
public:
    explicit summary_reporter(bool cpu_time = false) : benchmark::ConsoleReporter(OO_Tabular), cpu_time_(cpu_time) {}
    std::map<std::string, double> ns;  ///< benchmark name -> ns per item (real, or CPU with cpu_time)

    void ReportRuns(const std::vector<Run>& runs) override {
        ConsoleReporter::ReportRuns(runs);
        for (const auto& r : runs) {
            if (r.error_occurred) continue;
            const bool median = r.run_type == Run::RT_Aggregate && r.aggregate_name == "median";
            if (r.run_type != Run::RT_Iteration && !median) continue;
            const std::string name = r.run_name.str();  // without the aggregate's suffix
            if (!median && medians_.count(name)) continue;
            double per = cpu_time_ ? r.GetAdjustedCPUTime() : r.GetAdjustedRealTime();
            if (auto b = r.counters.find("batch"); b != r.counters.end() && b->second.value > 0) per /= b->second.value;
            ns[name] = per;
            if (median) medians_.insert(name);
        }
    }

    /// One `ratio |` line for path / baseline (nothing when either did not run). goal <= 0: no goal.
    void ratio(const char* section, const char* what, const std::string& path, const std::string& baseline,
               double goal = 0) const {
        auto a = ns.find(path), b = ns.find(baseline);
        if (a == ns.end() || b == ns.end() || b->second <= 0) {
            if (goal > 0) std::printf("ratio | %s | %s | - | - | not run | goal <= %.2fx | -\n", section, what, goal);
            else std::printf("ratio | %s | %s | - | - | not run | goal - | -\n", section, what);
            return;
        }
        const double r = a->second / b->second;
        if (goal > 0)
            std::printf("ratio | %s | %s | %.2f | %.2f | %.2fx | goal <= %.2fx | %s\n", section, what, a->second,
                        b->second, r, goal, r <= goal ? "met" : "MISSED");
        else
            std::printf("ratio | %s | %s | %.2f | %.2f | %.2fx | goal - | -\n", section, what, a->second, b->second, r);
    }

private:
    bool cpu_time_ = false;
    std::set<std::string> medians_;  ///< names whose value is a median aggregate
};

/// One `fact |` line: something a goal needs besides time.
inline void fact(const char* section, const char* what, const std::string& value) {
    std::printf("fact | %s | %s | %s\n", section, what, value.c_str());
}

}  // namespace bench
