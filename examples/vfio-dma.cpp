// vfio-dma - a DMA self-test through QEMU's edu device, then map/unmap throughput, on either backend.
//
//   vfio-dma 0000:00:03.0                      self-test (RAM -> edu -> RAM, compared; MSI), then throughput
//   vfio-dma --backend type1 --json 0000:00:03.0
//   vfio-dma --no-selftest /dev/vfio/devices/vfio4   throughput only (any VFIO device: it only anchors the
//                                                       address space; type1 needs one before it can map)
//
// The self-test maps two pages of this process at IOVA 16 MiB (edu masks DMA addresses to 28 bits), has edu copy
// the first page into its buffer and back into the second, raising an MSI at the end, and compares the bytes. The
// throughput part maps and unmaps buffers of 4 KiB to 64 MiB at IOVA 1 GiB, backed by 4 KiB pages and, when the
// machine has reserved 2 MiB hugepages (MAP_HUGETLB), by those; the buffers are touched first, so what is measured
// is pinning and IOMMU page-table work, not page faults.
//
// Exit codes (also in --help): 0 passed; 1 the device could not be opened or a map failed (the library's error and
// advice are printed); 2 bad command line; 3 no such device; 4 permission denied on a VFIO node; 5 the device is not
// bound to a VFIO driver, or its group is not viable; 6 the DMA self-test failed (bytes differ, or no MSI); 7 the
// device is not an edu (1234:11e8): the self-test needs one (--no-selftest measures throughput only).
#include <vfiopp/dma_space.hpp>
#include <vfiopp/fmt_error.hpp>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <poll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>
#include <linux/mman.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {
using namespace vfiopp;
using json = nlohmann::json;
using clock_type = std::chrono::steady_clock;

constexpr int exit_ok = 0, exit_failed = 1, exit_usage = 2, exit_no_device = 3, exit_permission = 4, exit_not_vfio = 5,
              exit_selftest = 6, exit_not_edu = 7;
constexpr const char* exit_codes_text =
    "Exit codes:\n"
    "  0  the self-test passed and every measurement was made\n"
    "  1  the device could not be opened, or a map/unmap failed (the error and what to do are printed)\n"
    "  2  bad command line\n"
    "  3  no such device\n"
    "  4  permission denied on a VFIO node (/dev/vfio/N, /dev/vfio/devices/vfioN, /dev/iommu)\n"
    "  5  the device is not bound to a VFIO driver (vfio-bind binds it), or its group is not viable\n"
    "  6  the DMA self-test failed: the bytes that came back differ, or no MSI arrived\n"
    "  7  the device is not QEMU's edu (1234:11e8): use --no-selftest to measure throughput only\n";

constexpr std::uint64_t KiB = 1024, MiB = 1024 * KiB;
constexpr std::uint64_t selftest_iova = 16 * MiB, bench_iova = 1024 * MiB;

// edu's registers (QEMU hw/misc/edu.c) in BAR0, and its 4 KiB DMA buffer at 0x40000
enum : std::uint32_t {
    edu_id = 0x00, edu_liveness = 0x04, edu_irq_status = 0x24, edu_irq_ack = 0x64, edu_dma_src = 0x80,
    edu_dma_dst = 0x88, edu_dma_count = 0x90, edu_dma_cmd = 0x98, edu_buffer = 0x40000,
    edu_cmd_start = 1, edu_cmd_to_ram = 2, edu_cmd_irq = 4,
};

int exit_code_of(const error& e) {
    if (e.code == EACCES || e.code == EPERM) return exit_permission;
    if (e.ioctl == "locate_device" && e.code == ENOENT) return exit_no_device;
    if (e.ioctl == "locate_device" && e.field == "driver") return exit_not_vfio;
    if (e.ioctl == uapi::vfio::group_get_status.name && e.field == "flags") return exit_not_vfio;
    return exit_failed;
}
std::string hint_for(const error& e, const std::string& name) {
    if (e.code == EACCES || e.code == EPERM)
        return "run as root, or give your user the VFIO nodes (vfio-bind prints them) and enough RLIMIT_MEMLOCK";
    if (e.ioctl == "locate_device" && e.field == "driver") return "bind it with: vfio-bind " + name;
    if (e.ioctl == uapi::vfio::group_get_status.name && e.field == "flags") return "bind the whole group: vfio-bind --group " + name;
    if (e.code == ENOMEM) return "or measure smaller sizes (--max-size)";
    if (e.code == EBUSY) return "another process (a VMM) holds the device or its group open; VFIO allows one opener";
    return {};
}

std::string human(std::uint64_t v) {
    if (v >= MiB && v % MiB == 0) return fmt::format("{}M", v / MiB);
    if (v >= KiB && v % KiB == 0) return fmt::format("{}K", v / KiB);
    return fmt::format("{}", v);
}
std::optional<std::uint64_t> parse_size(const std::string& s) {
    char* end = nullptr;
    unsigned long long v = std::strtoull(s.c_str(), &end, 10);
    if (end == s.c_str()) return std::nullopt;
    std::string unit(end);
    if (unit.empty() || unit == "B") return v;
    if (unit == "K" || unit == "KiB" || unit == "k") return v * KiB;
    if (unit == "M" || unit == "MiB") return v * MiB;
    if (unit == "G" || unit == "GiB") return v * 1024 * MiB;
    return std::nullopt;
}
// A cdev path names its device through /sys/class/vfio-dev/vfioN/device.
std::string resolve_name(const std::string& arg) {
    constexpr std::string_view prefix = "/dev/vfio/devices/";
    if (arg.rfind(prefix, 0) != 0) return arg;
    std::string link = "/sys/class/vfio-dev/" + arg.substr(prefix.size()) + "/device";
    char buf[PATH_MAX];
    ssize_t n = ::readlink(link.c_str(), buf, sizeof buf - 1);
    if (n <= 0) return arg;
    std::string s(buf, static_cast<std::size_t>(n));
    return s.substr(s.rfind('/') + 1);
}
std::string meminfo(const std::string& key) {
    std::ifstream f("/proc/meminfo");
    for (std::string line; std::getline(f, line);)
        if (line.rfind(key + ":", 0) == 0) {
            auto v = line.substr(key.size() + 1);
            v.erase(0, v.find_first_not_of(' '));
            return v;
        }
    return "?";
}

// Page-aligned memory of this process, 4 KiB or 2 MiB pages; unmapped when it goes.
struct buffer {
    std::uint8_t* p = nullptr;
    std::size_t n = 0;
    int err = 0;
    buffer(std::size_t size, bool huge) : n(size) {
        int flags = MAP_PRIVATE | MAP_ANONYMOUS | (huge ? MAP_HUGETLB | MAP_HUGE_2MB : 0);
        void* m = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, flags, -1, 0);
        if (m == MAP_FAILED) {
            err = errno;
            return;
        }
        p = static_cast<std::uint8_t*>(m);
        std::memset(p, 0, size);  // fault every page in now: the maps below then measure pinning only
    }
    buffer(const buffer&) = delete;
    buffer& operator=(const buffer&) = delete;
    ~buffer() {
        if (p) ::munmap(p, n);
    }
};

// A progress bar on a terminal, nothing otherwise; lines printed through it go above the bar.
struct progress {
    std::FILE* out;
    bool tty;
    std::size_t total = 0, done = 0;
    void draw(const std::string& what) const {
        if (!tty || total == 0) return;
        const std::size_t width = 30, fill = done * width / total;
        fmt::print(out, "\r\033[K[{}{}] {:3}% {}", std::string(fill, '#'), std::string(width - fill, ' '), done * 100 / total, what);
        std::fflush(out);
    }
    void clear() const {
        if (tty) fmt::print(out, "\r\033[K");
    }
};

struct report {
    bool json_out;
    progress* bar;
    void line(const std::string& s) const {
        if (json_out) return;
        bar->clear();
        fmt::print("{}\n", s);
    }
};

struct selftest_result {
    bool pass = false;
    bool msi = false;
    std::optional<std::size_t> first_mismatch;
    json to_json() const {
        json j{{"result", pass ? "PASS" : "FAIL"}, {"bytes", 4096}, {"iova", selftest_iova}, {"msi", msi}};
        if (first_mismatch) j["first_mismatch"] = *first_mismatch;
        return j;
    }
};

// One edu DMA, waited for (edu clears the start bit when done).
result<void> edu_dma(region& bar, std::uint64_t src, std::uint64_t dst, std::uint64_t count, std::uint64_t cmd) {
    if (auto r = bar.write<std::uint64_t>(edu_dma_src, src); !r) return r;
    if (auto r = bar.write<std::uint64_t>(edu_dma_dst, dst); !r) return r;
    if (auto r = bar.write<std::uint64_t>(edu_dma_count, count); !r) return r;
    if (auto r = bar.write<std::uint64_t>(edu_dma_cmd, cmd | edu_cmd_start); !r) return r;
    for (int i = 0; i < 5000; ++i) {
        auto c = bar.read<std::uint64_t>(edu_dma_cmd);
        if (!c) return c.error();
        if (!(*c & edu_cmd_start)) return {};
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return detail::refuse("edu", "dma_cmd", ETIMEDOUT, "the edu DMA never completed (is bus mastering on?)");
}

// The self-test; an error is the library's (the test itself failing is a selftest_result with pass = false).
result<selftest_result> selftest(dma_space& space, device& dev, const report& rep) {
    auto cfg = dev.region(uapi::pci_region_index::config);
    if (!cfg) return cfg.error();
    auto vendor = cfg->read<std::uint16_t>(0), devid = cfg->read<std::uint16_t>(2);
    if (!vendor) return vendor.error();
    if (!devid) return devid.error();
    if (*vendor != 0x1234 || *devid != 0x11e8)
        return detail::refuse("edu", "vendor", ENODEV, "not an edu device (1234:11e8)").with("vendor", *vendor).with("device", *devid);
    rep.line(fmt::format("device {}: edu [{:04x}:{:04x}]", dev.name(), *vendor, *devid));
    auto cmd = cfg->read<std::uint16_t>(4);
    if (!cmd) return cmd.error();
    if (auto r = cfg->write<std::uint16_t>(4, static_cast<std::uint16_t>(*cmd | 0x6)); !r) return r.error();  // memory + bus master

    auto bar = dev.region(uapi::pci_region_index::bar0);
    if (!bar) return bar.error();
    if (auto r = bar->map(); !r) return r.error();
    auto id = bar->read<std::uint32_t>(edu_id);
    if (!id) return id.error();
    if (auto r = bar->write<std::uint32_t>(edu_liveness, 0x5a5aa5a5u); !r) return r.error();
    auto live = bar->read<std::uint32_t>(edu_liveness);
    if (!live) return live.error();
    rep.line(fmt::format("edu id {:#010x}, liveness {}", *id, *live == ~0x5a5aa5a5u ? "ok" : "WRONG"));

    buffer ram(2 * 4096, false);
    if (!ram.p) return error{"mmap", "size", ram.err, "the self-test's two pages", error_origin::kernel};
    for (std::size_t i = 0; i < 4096; ++i) ram.p[i] = static_cast<std::uint8_t>(i * 7 + 3);
    auto m = space.map(ram.p, selftest_iova, ram.n);
    if (!m) return m.error();
    auto msi = dev.interrupts(uapi::pci_irq_index::msi);
    if (!msi) return msi.error();
    if (auto r = msi->enable(1u); !r) return r.error();

    selftest_result out;
    if (auto r = edu_dma(*bar, selftest_iova, edu_buffer, 4096, 0); !r) return r.error();                      // RAM -> edu
    if (auto r = edu_dma(*bar, edu_buffer, selftest_iova + 4096, 4096, edu_cmd_to_ram | edu_cmd_irq); !r) return r.error();  // edu -> RAM
    pollfd p{msi->eventfd(0), POLLIN, 0};
    std::uint64_t n = 0;
    out.msi = ::poll(&p, 1, 2000) == 1 && ::read(p.fd, &n, sizeof n) == static_cast<ssize_t>(sizeof n) && n > 0;
    if (auto st = bar->read<std::uint32_t>(edu_irq_status))
        if (auto r = bar->write<std::uint32_t>(edu_irq_ack, *st); !r) return r.error();
    for (std::size_t i = 0; i < 4096 && !out.first_mismatch; ++i)
        if (ram.p[i] != ram.p[4096 + i]) out.first_mismatch = i;
    out.pass = !out.first_mismatch && out.msi && *live == ~0x5a5aa5a5u;
    if (auto r = m->unmap(); !r) return r.error();
    return out;
}

struct sample {
    std::uint64_t page_size, size;
    unsigned iterations;
    double map_us, unmap_us;  // per operation, mean
    json to_json() const {
        double gib = static_cast<double>(size) / (1024.0 * 1024 * 1024);
        return {{"page_size", page_size}, {"size", size}, {"iterations", iterations}, {"map_us", map_us},
                {"unmap_us", unmap_us}, {"map_gib_per_s", gib / (map_us / 1e6)}, {"unmap_gib_per_s", gib / (unmap_us / 1e6)}};
    }
    std::string text() const {
        double mib = static_cast<double>(size) / MiB;
        return fmt::format("map/unmap {:>4} pages {:>5}: map {:>10.1f} us ({:>8.1f} MiB/s), unmap {:>10.1f} us ({:>8.1f} MiB/s), {} iterations",
                           human(page_size), human(size), map_us, mib / (map_us / 1e6), unmap_us, mib / (unmap_us / 1e6), iterations);
    }
};

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"vfio-dma: maps a buffer and runs a DMA self-test through QEMU's edu device (RAM -> device -> RAM, "
                 "compared, MSI), then measures map/unmap throughput over sizes and page sizes (4K; 2M hugepages when "
                 "reserved)",
                 "vfio-dma"};
    std::string device_arg, backend_name = "auto", max_size_text = "64M";
    unsigned iterations = 8;
    bool json_out = false, no_selftest = false, no_bench = false;
    app.add_option("DEVICE", device_arg, "PCI address (0000:00:03.0), mdev UUID or cdev path (/dev/vfio/devices/vfio0)")
        ->required();
    app.add_option("--backend", backend_name, "auto (iommufd when the kernel has it), type1 or iommufd")
        ->check(CLI::IsMember({"auto", "type1", "iommufd"}));
    app.add_option("--max-size", max_size_text, "largest buffer measured (4K .. 1G; sizes go up by 4x from 4K)");
    app.add_option("--iterations", iterations, "map+unmap rounds per size")->check(CLI::Range(1u, 100000u));
    app.add_flag("--no-selftest", no_selftest, "skip the edu DMA self-test (any VFIO device then works)");
    app.add_flag("--no-bench", no_bench, "skip the throughput measurements");
    app.add_flag("--json", json_out, "print one JSON document instead of text");
    app.footer(exit_codes_text);
    // line-buffered even into a file or pipe, so that stdout and stderr lines keep their order in a log
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? exit_ok : exit_usage;
    }
    auto max_size = parse_size(max_size_text);
    if (!max_size || *max_size < 4 * KiB || *max_size > 1024 * MiB) {
        fmt::print(stderr, "vfio-dma: --max-size {}: want a size from 4K to 1G (e.g. 64M)\n", max_size_text);
        return exit_usage;
    }
    const backend want = backend_name == "type1" ? backend::type1 : backend_name == "iommufd" ? backend::iommufd : backend::automatic;
    const std::string name = resolve_name(device_arg);

    std::vector<std::uint64_t> sizes;
    for (std::uint64_t s = 4 * KiB; s <= *max_size; s *= 4) sizes.push_back(s);
    progress bar{json_out ? stderr : stdout, ::isatty(json_out ? 2 : 1) == 1};
    report rep{json_out, &bar};
    json out{{"device", name}};
    auto give_up = [&](const error& e, int code) {
        std::string hint = hint_for(e, name);
        bar.clear();
        fmt::print(stderr, "vfio-dma: {}{}\n", e, hint.empty() ? "" : "\n  " + hint);
        if (json_out) {
            out["error"] = fmt::format("{}", e);
            out["exit_code"] = code;
            fmt::print("{}\n", out.dump(2));
        }
        return code;
    };

    // The device first: "no such device" and "not bound to vfio-pci" say more than a missing /dev/vfio/vfio would.
    if (auto loc = locate_device(name); !loc) return give_up(loc.error(), exit_code_of(loc.error()));
    auto space = dma_space::open(want);
    if (!space) return give_up(space.error(), exit_code_of(space.error()));
    auto dev = space->open_device(name);
    if (!dev) return give_up(dev.error(), exit_code_of(dev.error()));
    const char* kind = space->kind() == backend::iommufd ? "iommufd" : "type1";
    out["backend"] = kind;
    rep.line(fmt::format("vfio-dma: {} opened ({} backend)", name, kind));

    int code = exit_ok;
    std::string verdict = "skipped";
    if (!no_selftest) {
        auto t = selftest(*space, *dev, rep);
        if (!t) {
            if (t.error().ioctl == "edu" && t.error().field == "vendor")
                return give_up(std::move(t.error()).advise("not QEMU's edu (1234:11e8): the self-test needs one; "
                                                           "--no-selftest measures throughput only"),
                               exit_not_edu);
            return give_up(t.error(), exit_code_of(t.error()));
        }
        out["selftest"] = t->to_json();
        verdict = t->pass ? "PASS" : "FAIL";
        rep.line(fmt::format("DMA self-test: {} (4096 bytes RAM -> edu -> RAM through IOVA {:#x}, {}, MSI {}, {} backend)",
                             verdict, selftest_iova, t->first_mismatch ? fmt::format("first difference at byte {}", *t->first_mismatch) : "bytes equal",
                             t->msi ? "received" : "MISSING", kind));
        if (!t->pass) code = exit_selftest;
    }

    std::size_t measured = 0;
    std::string huge_note = "not measured", huge_word = "not measured";  // the detail, and its word for the summary
    if (!no_bench) {
        rlimit rl{};
        ::getrlimit(RLIMIT_MEMLOCK, &rl);
        if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < *max_size && ::geteuid() != 0)
            rep.line(fmt::format("note: RLIMIT_MEMLOCK is {} bytes, below --max-size {}: the larger maps may fail with "
                                 "ENOMEM on type1 (ulimit -l)", rl.rlim_cur, human(*max_size)));
        json samples = json::array();
        struct kind_of_pages {
            std::uint64_t page;
            bool huge;
        };
        const kind_of_pages pages[] = {{4 * KiB, false}, {2 * MiB, true}};
        std::optional<buffer> bufs[2];
        bufs[0].emplace(*max_size, false);
        if (!bufs[0]->p) return give_up(error{"mmap", "size", bufs[0]->err, "the 4K-page buffer", error_origin::kernel}, exit_failed);
        // 2 MiB pages only exist when the administrator reserved them (vm.nr_hugepages): MAP_HUGETLB fails otherwise
        std::uint64_t huge_size = std::max<std::uint64_t>(*max_size, 2 * MiB);
        bufs[1].emplace(huge_size, true);
        json huge{{"available", bufs[1]->p != nullptr}};
        if (!bufs[1]->p) {
            std::string free_pages = meminfo("HugePages_Free");
            huge_note = free_pages == "?"
                            ? fmt::format("unavailable: this kernel has no hugetlbfs (CONFIG_HUGETLBFS is off: MAP_HUGETLB "
                                          "answers {})", std::strerror(bufs[1]->err))
                            : fmt::format("unavailable: MAP_HUGETLB of {} failed ({}; HugePages_Free {}): reserve them with "
                                          "echo {} > /proc/sys/vm/nr_hugepages",
                                          human(huge_size), std::strerror(bufs[1]->err), free_pages, huge_size / (2 * MiB));
            huge["reason"] = huge_note;
            huge_word = "unavailable";
            bufs[1].reset();
        } else {
            huge_note = huge_word = "measured";
        }
        out["hugepages_2m"] = huge;
        for (int k = 0; k < 2; ++k)
            if (bufs[k])
                for (auto s : sizes) bar.total += s % pages[k].page == 0 ? iterations : 0;
        for (int k = 0; k < 2; ++k) {
            if (!bufs[k]) {
                rep.line(fmt::format("2M hugepages: {}", huge_note));
                continue;
            }
            // one round unmeasured: the first map of a process pays once for what later ones reuse (the IOMMU's
            // page-table levels for this IOVA range, the pinning paths warming up)
            if (auto m = space->map(bufs[k]->p, bench_iova, pages[k].page); !m)
                return give_up(m.error(), exit_code_of(m.error()));
            else if (auto u = m->unmap(); !u)
                return give_up(u.error(), exit_failed);
            std::size_t measured_here = 0;
            for (auto s : sizes) {
                if (s % pages[k].page != 0) continue;  // a 4 KiB map of 2 MiB pages measures nothing new
                double map_total = 0, unmap_total = 0;
                for (unsigned i = 0; i < iterations; ++i) {
                    bar.draw(fmt::format("{} pages, {} ({}/{})", human(pages[k].page), human(s), i + 1, iterations));
                    auto t0 = clock_type::now();
                    auto m = space->map(bufs[k]->p, bench_iova, s);
                    auto t1 = clock_type::now();
                    if (!m) return give_up(m.error(), exit_code_of(m.error()));
                    if (auto u = m->unmap(); !u) return give_up(u.error(), exit_failed);
                    auto t2 = clock_type::now();
                    map_total += std::chrono::duration<double, std::micro>(t1 - t0).count();
                    unmap_total += std::chrono::duration<double, std::micro>(t2 - t1).count();
                    ++bar.done;
                }
                sample smp{pages[k].page, s, iterations, map_total / iterations, unmap_total / iterations};
                samples.push_back(smp.to_json());
                rep.line(smp.text());
                ++measured;
                ++measured_here;
            }
            if (pages[k].huge && measured_here == 0) {
                huge_note = "available, not measured (no size of 2M or more: --max-size)";
                huge_word = "not measured";
                rep.line("2M hugepages: " + huge_note);
            }
        }
        bar.clear();
        out["throughput"] = samples;
    }
    out["exit_code"] = code;
    if (json_out)
        fmt::print("{}\n", out.dump(2));
    else
        fmt::print("vfio-dma: self-test {}, {} throughput measurement{}, 2M hugepages {}, {} backend\n", verdict, measured,
                   measured == 1 ? "" : "s", huge_word, kind);
    return code;
}
