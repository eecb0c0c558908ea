// Kernel fault injection through the objects (issue 14, part 5): the Linux iommufd selftests' method
// (tools/testing/selftests/iommu/iommufd_fail_nth.c). Every kernel allocation of the calling task, and every
// iommufd failure point of IOMMUFD_TEST (fail_iommufd), is a failure point; /proc/self/task/TID/fail-nth = N fails
// the Nth one the task reaches. Each object operation runs with N = 1, 2, 3, ... until it reaches no more failure
// points (fail-nth reads back non-zero: nothing was injected); each attempt either succeeds (then it is cleaned up)
// or fails with an error that names the ioctl or syscall and carries the kernel's errno, and afterwards neither the
// process nor the kernel holds anything of it: the fd count, the mmaps, VmLck and VmPin are what they were, the
// IOAS or container maps nothing, no iommufd object ID above the ones the test holds answers IOMMU_DESTROY with
// anything but ENOENT, and the kernel logged no warning, BUG, refcount or leak message (/dev/kmsg, read
// non-blocking from where the case started).
//
// Not swept: the first open and the last close of a vfio-pci device (VFIO_DEVICE_BIND_IOMMUFD of a cdev, the first
// VFIO_GROUP_GET_DEVICE_FD of a group, the close that disables the device). pci_enable_device and
// pci_disable_device evaluate the ACPI _PRT method (acpi_pci_irq_enable / acpi_pci_irq_disable), and on 7.3.4 an
// allocation failed inside ACPICA's acpi_ut_update_object_reference ("ACPI Error: AE_NO_MEMORY, Could not update
// object reference count (utdelete-651)") leaves a namespace object's references wrong: the next _PRT evaluation
// oopses (BUG: unable to handle page fault in acpi_ut_update_object_reference, called from vfio_pci_core_disable ->
// pci_disable_device -> acpi_pci_irq_disable). Measured with fail-nth 38 of edu's cdev open + bind + attach: a
// kernel (ACPICA) bug, not vfiopp's. Those steps run disarmed; BIND's iommufd half (iommufd_device_bind) is swept
// through the IOMMUFD_TEST mock device, and the rest of the device's life (ATTACH, a second device fd, regions,
// BAR mmap, MSI) with the device open.
//
// The 7.3 test kernel only (VFIOPP_VM_KERNEL=iommufd: FAULT_INJECTION, FAILSLAB, FAIL_PAGE_ALLOC,
// FAULT_INJECTION_DEBUG_FS, IOMMUFD_TEST; /init mounts debugfs). Debian's 6.1 has none of it: the debian boot
// leaves these cases out with the tag filter ~[kernel_faults], and a case started there fails (it does not skip).
// A missing fail-nth file or debugfs failslab directory on 7.3 fails too.
#include <vfiopp/container.hpp>
#include <vfiopp/device.hpp>
#include <vfiopp/dma_space.hpp>
#include <vfiopp/fmt_error.hpp>
#include <vfiopp/group.hpp>
#include <vfiopp/hwpt.hpp>
#include <vfiopp/iommufd.hpp>
#include <vfiopp/migration.hpp>

#include "objects_support.hpp"

#include <catch2/catch_test_macros.hpp>
#include <fmt/format.h>

#include <dirent.h>
#include <fcntl.h>
#include <malloc.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "iommufd_mock.hpp"

namespace {
using namespace vmtest;
using clock_type = std::chrono::steady_clock;

// ---- setup: the 7.3 kernel, debugfs knobs as the selftests set them ----

bool write_text(const std::string& path, const char* text) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return false;
    auto n = ::write(fd, text, std::strlen(text));
    ::close(fd);
    return n == static_cast<ssize_t>(std::strlen(text));
}

bool trace_attempts() {
    const char* t = std::getenv("VFIOPP_FAULTS_TRACE");
    return t && *t == '1';
}

// The kernel gate and the fault injection setup of iommufd_fail_nth.c's setup_fault_injection(): allocations that
// may sleep fail too (failslab and fail_page_alloc ignore-gfp-wait = N, highmem pages too), no stack dump per
// injected failure (verbose = 0 in every fail* directory). A missing piece fails the case with what is missing.
void require_fault_injection() {
    const char* k = std::getenv("VFIOPP_VM_KERNEL");
    INFO("[kernel_faults] needs the 7.3 test kernel (VFIOPP_VM_KERNEL=iommufd); Debian's 6.1 has no fault injection: "
         "leave these cases out of the debian boot with the tag filter ~[kernel_faults]. VFIOPP_VM_KERNEL="
         << (k ? k : "(unset)"));
    REQUIRE(k != nullptr);
    REQUIRE(std::string(k) == "iommufd");
    const std::string nth = fmt::format("/proc/self/task/{}/fail-nth", static_cast<long>(::syscall(SYS_gettid)));
    INFO(nth << " is missing: the kernel needs CONFIG_FAULT_INJECTION (tests/vm/kernel-7.3.fragment)");
    REQUIRE(::access(nth.c_str(), R_OK | W_OK) == 0);
    INFO("/sys/kernel/debug/failslab is missing: the kernel needs CONFIG_DEBUG_FS, CONFIG_FAULT_INJECTION_DEBUG_FS and "
         "CONFIG_FAILSLAB, and /init must mount debugfs on /sys/kernel/debug (tests/vm/init.sh)");
    REQUIRE(::access("/sys/kernel/debug/failslab", F_OK) == 0);
    REQUIRE(write_text("/sys/kernel/debug/failslab/ignore-gfp-wait", "N"));
    INFO("/sys/kernel/debug/fail_page_alloc is missing: the kernel needs CONFIG_FAIL_PAGE_ALLOC");
    REQUIRE(write_text("/sys/kernel/debug/fail_page_alloc/ignore-gfp-wait", "N"));
    REQUIRE(write_text("/sys/kernel/debug/fail_page_alloc/ignore-gfp-highmem", "N"));
    // VFIOPP_FAULTS_TRACE=1 (debugging; a #!/bin/busybox sh wrapper exports it in the guest): every attempt is
    // printed before it runs, and the kernel logs each injected failure with its stack (verbose = 2; boot with
    // --append loglevel=8 to see them on the console)
    const char* verbose = trace_attempts() ? "2" : "0";
    int quiet = 0;
    if (DIR* d = ::opendir("/sys/kernel/debug")) {
        while (dirent* e = ::readdir(d))
            if (std::strncmp(e->d_name, "fail", 4) == 0)
                quiet += write_text(fmt::format("/sys/kernel/debug/{}/verbose", e->d_name), verbose) ? 1 : 0;
        ::closedir(d);
    }
    CHECK(quiet >= 3);  // failslab, fail_page_alloc, fail_iommufd (IOMMUFD_TEST)
}

// The process's own page faults are failure points too (an anon_vma for a fresh heap or stack page); one that
// is failed is retried by the kernel with "Huh VM_FAULT_OOM leaked out to the #PF handler" in the log. So the
// stack and the heap the operations touch are faulted in before the sweeps, and free() keeps the heap.
[[gnu::noinline]] void prefault_stack() {
    volatile char buf[512 * 1024];
    for (std::size_t i = 0; i < sizeof buf; i += 4096) buf[i] = 0;
}
void prefault_memory() {
    ::mallopt(M_MMAP_THRESHOLD, 32 << 20);  // fixed: no malloc() becomes an mmap() of its own
    ::mallopt(M_TRIM_THRESHOLD, 256 << 20);  // free() never gives the heap back
    ::mallopt(M_TOP_PAD, 16 << 20);
    constexpr std::size_t n = 24 << 20;
    if (void* p = std::malloc(n)) {
        std::memset(p, 1, n);
        std::free(p);
    }
    prefault_stack();
}

// ---- /proc/self/task/TID/fail-nth of the calling thread; 0 written back when it goes ----
class fail_nth {
public:
    fail_nth() {
        const std::string path = fmt::format("/proc/self/task/{}/fail-nth", static_cast<long>(::syscall(SYS_gettid)));
        fd_ = unique_fd{::open(path.c_str(), O_RDWR | O_CLOEXEC)};
    }
    fail_nth(const fail_nth&) = delete;
    fail_nth& operator=(const fail_nth&) = delete;
    ~fail_nth() { (void)disarm(); }
    [[nodiscard]] bool ok() const noexcept { return static_cast<bool>(fd_); }

    // Runs f with the nth failure point armed; afterwards injected() says whether it fired, consumed() how many
    // points f went through (n when it fired).
    template <typename F>
    auto armed(unsigned n, F&& f) {
        char buf[16];
        int len = std::snprintf(buf, sizeof buf, "%u", n);
        n_ = n;
        armed_ = ::pwrite(fd_.get(), buf, static_cast<std::size_t>(len), 0) == len;
        struct disarm_on_exit {  // also when f throws: nothing after the operation runs armed
            fail_nth& self;
            ~disarm_on_exit() { self.left_ = self.disarm(); }
        } guard{*this};
        return f();  // the result is made before guard disarms
    }
    [[nodiscard]] bool was_armed() const noexcept { return armed_; }
    void clear() noexcept {
        armed_ = false;
        left_ = 1;
    }
    [[nodiscard]] bool injected() const noexcept { return left_ == 0; }
    [[nodiscard]] unsigned consumed() const noexcept { return n_ - left_; }

private:
    // Reads what is left and writes 0, as iommufd_fail_nth.c's fail_nth_next() (an EFAULT there means the read
    // itself hit a failure point: nothing was injected in the operation).
    unsigned disarm() noexcept {
        if (!fd_) return 1;
        char buf[32] = {};
        ssize_t r = ::pread(fd_.get(), buf, sizeof buf - 1, 0);
        unsigned left = r > 0 ? static_cast<unsigned>(std::strtoul(buf, nullptr, 10)) : 1;
        if (::pwrite(fd_.get(), "0", 1, 0) != 1) (void)::pwrite(fd_.get(), "0", 1, 0);
        return left;
    }
    unique_fd fd_;
    unsigned n_ = 0, left_ = 1;
    bool armed_ = false;
};

// ---- the kernel log from a saved position, non-blocking ----

// A kernel WARN the test knows, matched on its splat (the lines from "cut here" to "end trace"): counted and
// printed, not failed. Each is a kernel bug of its own, outside vfiopp, named in the report.
struct known_warning {
    const char* what;
    bool (*match)(const std::vector<std::string>& splat);
};
// kernel/irq/proc.c (7.3.4): register_irq_proc() ignores a failed proc_create_*() of /proc/irq/N/<entry>, and
// unregister_irq_proc() removes every entry regardless, so remove_proc_entry() (fs/proc/generic.c) WARNs
// "name '<entry>'" for the one that was never made: an injected failure in MSI setup's request_irq path, reported
// when the vector is freed. No leak, no broken state: the entry simply never existed.
bool irq_proc_teardown_warning(const std::vector<std::string>& splat) {
    bool warn = false, irq_entry = false;
    for (const auto& l : splat) {
        warn |= l.find("WARNING: fs/proc/generic.c:") != std::string::npos;
        for (const char* e : {"smp_affinity", "affinity_hint", "smp_affinity_list", "node", "effective_affinity",
                              "effective_affinity_list", "spurious"})
            irq_entry |= l == fmt::format("name '{}'", e);
    }
    return warn && irq_entry;
}
constexpr known_warning irq_proc_teardown{"remove_proc_entry WARN for a /proc/irq/N entry register_irq_proc() never made",
                                          &irq_proc_teardown_warning};

class kmsg_watch {
public:
    struct report {
        std::vector<std::string> bad;    // lines that look like trouble
        std::vector<std::string> known;  // known warnings seen (their description and WARNING line)
    };
    kmsg_watch() {
        fd_ = unique_fd{::open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC)};
        if (fd_) ::lseek(fd_.get(), 0, SEEK_END);
    }
    [[nodiscard]] bool ok() const noexcept { return static_cast<bool>(fd_); }
    // What was logged since the last call that looks like trouble: a WARN, a BUG, an Oops, a refcount_t complaint,
    // a leak report, a stack dump; a splat one of `allowed` matches is reported apart. The retried user page fault
    // is counted apart too (see prefault_memory).
    report since(std::span<const known_warning> allowed = {}) {
        report out;
        char rec[8192];
        for (;;) {
            ssize_t n = ::read(fd_.get(), rec, sizeof rec - 1);
            if (n < 0 && errno == EPIPE) continue;  // overwritten records: go on with the next one
            if (n <= 0) break;                      // EAGAIN: nothing more
            rec[n] = '\0';
            const char* text = std::strchr(rec, ';');
            std::string line = text ? text + 1 : rec;
            if (auto nl = line.find('\n'); nl != std::string::npos) line.resize(nl);
            while (!line.empty() && line.back() == ' ') line.pop_back();
            if (line.find("Huh VM_FAULT_OOM leaked out to the #PF handler") != std::string::npos) {
                ++user_fault_retries_;
                continue;
            }
            if (line.find("------------[ cut here ]------------") != std::string::npos) {
                in_splat_ = true;
                splat_.assign(1, line);
                continue;
            }
            if (in_splat_) {
                splat_.push_back(line);
                if (line.find("---[ end trace") == std::string::npos) continue;
                in_splat_ = false;
                const known_warning* k = nullptr;
                for (const auto& a : allowed)
                    if (a.match(splat_)) k = &a;
                for (const auto& l : splat_)
                    if (is_bad(l)) {
                        if (k) out.known.push_back(fmt::format("{}: {}", k->what, l));
                        else out.bad.push_back(l);
                        if (k) break;
                    }
                continue;
            }
            if (is_bad(line)) out.bad.push_back(line);
        }
        return out;
    }
    [[nodiscard]] unsigned user_fault_retries() const noexcept { return user_fault_retries_; }

private:
    static bool is_bad(const std::string& line) {
        for (const char* pat : {"WARNING:", "BUG:", "refcount_t", "leak", "Oops", "Call Trace"})
            if (line.find(pat) != std::string::npos && !(trace_attempts() && std::strcmp(pat, "Call Trace") == 0))
                return true;
        return false;
    }
    unique_fd fd_;
    unsigned user_fault_retries_ = 0;
    bool in_splat_ = false;
    std::vector<std::string> splat_;
};

std::string errno_text(int code) {
    auto n = errno_name(code);
    return n.empty() ? fmt::format("errno {}", code) : std::string(n);
}

// ---- one sweep: an operation under fail-nth = 1, 2, 3, ... ----
struct op_stats {
    std::string name;
    unsigned attempts = 0;  // N of the last attempt: the one that ran past every failure point
    unsigned points = 0;    // failure points on the successful path (fail-nth consumed by it)
    unsigned failed = 0;    // attempts that reported an error
    unsigned absorbed = 0;  // attempts where the kernel absorbed the injected failure and the operation succeeded
    std::map<int, unsigned> errnos;
    std::map<std::string, unsigned> calls;  // "<ioctl or syscall> <errno>": how often the error named it
    unsigned known_warnings = 0;            // kernel WARNs of a known_warning the sweep allows
    double seconds = 0;
};

struct sweeper {
    fail_nth& nth;
    kmsg_watch& kmsg;
    std::vector<op_stats>& all;
    static constexpr unsigned max_attempts = 1500;

    // attempt(n) runs the operation through nth.armed(n, ...) and cleans up what succeeded; it returns the
    // operation's result<void>. verify(n) checks that nothing is left and returns whether all was well.
    template <typename Attempt, typename Verify>
    void operator()(const std::string& name, Attempt&& attempt, Verify&& verify,
                    std::span<const known_warning> allowed = {}) {
        op_stats s;
        s.name = name;
        const auto t0 = clock_type::now();
        unsigned bad_rounds = 0;
        for (unsigned n = 1;; ++n) {
            INFO(name << ": fail-nth " << n);
            if (n > max_attempts) {
                FAIL_CHECK("still injecting after " << max_attempts << " attempts: more failure points than expected");
                break;
            }
            if (trace_attempts()) {
                fmt::print("kernel_faults: {}: fail-nth {}\n", name, n);
                std::fflush(stdout);
            }
            nth.clear();
            result<void> r = attempt(n);
            REQUIRE(nth.was_armed());  // the attempt armed fail-nth (once) around the operation
            const bool injected = nth.injected();
            INFO("the attempt: " << (r ? (injected ? "succeeded, the injected failure absorbed" : "succeeded") : text(r)));
            bool good = true;
            if (!r) {
                const error& e = r.error();
                ++s.failed;
                ++s.errnos[e.code];
                ++s.calls[fmt::format("{} {}", e.ioctl, errno_text(e.code))];
                // the failure is the injected one, reported with the ioctl (or syscall) and the kernel's errno
                CHECK(injected);
                CHECK(!e.ioctl.empty());
                CHECK(e.origin == error_origin::kernel);
                CHECK(e.code > 0);
                good = injected && !e.ioctl.empty() && e.origin == error_origin::kernel && e.code > 0;
            } else if (injected) {
                ++s.absorbed;
            }
            good = verify(n) && good;
            auto log = kmsg.since(allowed);
            for (auto& line : log.bad) FAIL_CHECK("kernel log after " << name << " with fail-nth " << n << ": " << line);
            for (auto& line : log.known) {
                if (s.known_warnings++ == 0) fmt::print("kernel_faults: {}: fail-nth {}: known kernel warning: {}\n", name, n, line);
            }
            good = good && log.bad.empty();
            if (!good && ++bad_rounds >= 3) {
                FAIL_CHECK(name << ": stopping the sweep after 3 failing attempts");
                break;
            }
            if (!injected) {  // it ran past every failure point: done
                s.attempts = n;
                s.points = nth.consumed();
                CHECK(r.has_value());
                break;
            }
        }
        s.seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
        std::string hist;
        for (auto& [call, count] : s.calls) hist += fmt::format("{}{} x{}", hist.empty() ? "" : ", ", call, count);
        fmt::print("kernel_faults: {}: {} attempts, {} points on the success path, {} failed ({}), {} absorbed, {}"
                   "{:.2f} s\n",
                   s.name, s.attempts, s.points, s.failed, hist.empty() ? "-" : hist, s.absorbed,
                   s.known_warnings ? fmt::format("{} known kernel warnings, ", s.known_warnings) : std::string(), s.seconds);
        std::fflush(stdout);
        all.push_back(std::move(s));
    }
};

void print_summary(const std::vector<op_stats>& all, clock_type::time_point t0, const kmsg_watch& kmsg) {
    std::map<int, unsigned> total;
    unsigned attempts = 0;
    for (auto& s : all) {
        attempts += s.attempts;
        for (auto [code, count] : s.errnos) total[code] += count;
    }
    std::string hist;
    for (auto [code, count] : total) hist += fmt::format("{}{} {}", hist.empty() ? "" : ", ", errno_text(code), count);
    fmt::print("kernel_faults: {} operations, {} attempts, errnos: {}; user page faults retried: {}; {:.1f} s\n",
               all.size(), attempts, hist.empty() ? "-" : hist, kmsg.user_fault_retries(),
               std::chrono::duration<double>(clock_type::now() - t0).count());
    std::fflush(stdout);
}

// IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE: the mock device onto pt_id; the HWPT it is on afterwards.
result<std::uint32_t> mock_replace(const iommufd& ctx, std::uint32_t stdev, std::uint32_t pt_id) {
    test_cmd_req r;
    r.cmd.op = 10;  // IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE
    r.cmd.id = stdev;
    r.cmd.put<std::uint32_t>(0, pt_id);
    if (auto s = io::submit(ctx.fd(), r); !s) return s.error();
    return r.cmd.get<std::uint32_t>(0);
}

// No iommufd object but the ones the test holds: every other ID up to the highest known + 32 answers IOMMU_DESTROY
// with ENOENT (iommufd hands out the lowest free ID, so a leaked object sits among them). An object found is
// reported (and destroyed by the probe).
bool no_stray_objects(const iommufd& ctx, const std::set<std::uint32_t>& known) {
    const std::uint32_t top = (known.empty() ? 0 : *known.rbegin()) + 32;
    bool clean = true;
    for (std::uint32_t id = 1; id <= top; ++id) {
        if (known.count(id)) continue;
        auto r = ctx.destroy(id);
        if (!r && r.error().code == ENOENT) continue;
        FAIL_CHECK("iommufd object " << id << " left behind (IOMMU_DESTROY: " << text(r) << "); the test holds "
                                     << fmt::format("{}", fmt::join(known, ", ")));
        clean = false;
    }
    return clean;
}

bool same_footprint(const footprint& before, const char* what) {
    footprint now = measure();
    if (now == before) return true;
    FAIL_CHECK(what << ": the process holds something more: before " << before << ", now " << now);
    return false;
}

}  // namespace


TEST_CASE("vm: kernel fault injection into the iommufd objects: context, IOAS, cdev open/bind/attach, mock device, "
          "map/unmap, hwpt alloc/replace",
          "[kernel_faults]") {
    require_fault_injection();
    prefault_memory();
    const auto t0 = clock_type::now();
    auto cdevs = env_list("VFIOPP_EDU_CDEVS");
    REQUIRE(!cdevs.empty());
    kmsg_watch kmsg;
    REQUIRE(kmsg.ok());
    (void)kmsg.since();
    fail_nth nth;
    REQUIRE(nth.ok());
    std::vector<op_stats> all;
    sweeper sweep{nth, kmsg, all};
    constexpr std::uint64_t ram_size = 2 * MiB, iova = 16 * MiB;  // inside the mock's aperture too
    page_buffer ram(ram_size);
    REQUIRE(ram.data() != nullptr);
    std::memset(ram.data(), 0x5a, ram_size);

    {   // iommufd::open, and dma_space::open(iommufd): open + IOMMU_IOAS_ALLOC
        const footprint base = measure();
        sweep("iommufd::open",
              [&](unsigned n) -> result<void> {
                  auto c = nth.armed(n, [] { return iommufd::open(); });
                  if (!c) return c.error();
                  return {};
              },
              [&](unsigned) { return same_footprint(base, "iommufd::open"); });
        sweep("dma_space::open(iommufd): open + IOMMU_IOAS_ALLOC",
              [&](unsigned n) -> result<void> {
                  auto s = nth.armed(n, [] { return dma_space::open(backend::iommufd); });
                  if (!s) return s.error();
                  return {};
              },
              [&](unsigned) { return same_footprint(base, "dma_space::open"); });
    }

    // The context and IOAS everything else runs in, held across the attempts; `known` is every object ID the test
    // holds, the ones no_stray_objects() leaves alone.
    auto ctx = iommufd::open();
    REQUIRE_OK(ctx);
    auto as = ctx->alloc_ioas();
    REQUIRE_OK(as);
    std::set<std::uint32_t> known{as->id()};
    // after an attempt: the IOAS maps `expect_left` bytes (0 unless a failed unmap kept its mapping), then nothing
    // at all, the process holds what it held, and no stray object
    auto clean = [&](const footprint& base, const std::string& what, std::uint64_t expect_left = 0) {
        bool ok = true;
        auto left = as->unmap_all();
        if (!left || *left != expect_left) {
            FAIL_CHECK(what << ": IOMMU_IOAS_UNMAP of everything: " << text(left) << ", " << (left ? *left : 0)
                            << " bytes, expected " << expect_left);
            ok = false;
        }
        ok = same_footprint(base, what.c_str()) && ok;
        return no_stray_objects(*ctx, known) && ok;
    };

    {
        const footprint base = measure();
        sweep("ioas alloc (IOMMU_IOAS_ALLOC)",
              [&](unsigned n) -> result<void> {
                  auto a = nth.armed(n, [&] { return ctx->alloc_ioas(); });
                  if (!a) return a.error();
                  return {};  // IOMMU_DESTROY here, disarmed
              },
              [&](unsigned) { return clean(base, "ioas alloc"); });
        // Only the open(2) of the cdev: the BIND enables the PCI device (vfio_pci_core_enable -> pci_enable_device),
        // whose ACPI _PRT evaluation does not survive every injected failure (see the file's comment); BIND's iommufd
        // half (iommufd_device_bind) is swept through the mock device below, which goes through the same function.
        sweep("edu cdev open (open of /dev/vfio/devices/vfioN)",
              [&](unsigned n) -> result<void> {
                  auto d = nth.armed(n, [&] { return device::open_cdev(cdevs[0]); });
                  if (!d) return d.error();
                  return {};
              },
              [&](unsigned) { return clean(base, "edu cdev open"); });
        sweep("IOMMUFD_TEST mock device in the IOAS (IOMMU_TEST_OP_MOCK_DOMAIN)",
              [&](unsigned n) -> result<void> {
                  auto md = nth.armed(n, [&] { return mock_domain(*ctx, as->id()); });
                  if (!md) return md.error();
                  REQUIRE_OK(ctx->destroy(md->stdev));
                  return {};
              },
              [&](unsigned) { return clean(base, "mock device"); });
    }

    // edu bound (disarmed: see above), then its ATTACH swept: the automatic HWPT and the VT-d domain it makes
    auto edu = device::open_cdev(cdevs[0]);
    REQUIRE_OK(edu);
    REQUIRE_OK(edu->bind(*ctx));
    known.insert(edu->dev_id());
    {
        const footprint base = measure();
        sweep("edu VFIO_DEVICE_ATTACH_IOMMUFD_PT to the IOAS (automatic HWPT)",
              [&](unsigned n) -> result<void> {
                  auto pt = nth.armed(n, [&] { return edu->attach(*as); });
                  if (!pt) return pt.error();
                  REQUIRE_OK(edu->detach());  // its automatic HWPT goes with it
                  return {};
              },
              [&](unsigned) { return clean(base, "edu attach"); });
    }
    // edu and the mock device in the IOAS: a map fills a VT-d and a mock domain
    REQUIRE_OK(edu->attach(*as));
    auto md = mock_domain(*ctx, as->id());
    REQUIRE_OK(md);
    std::uint32_t edu_pt = edu->pt_id(), mock_pt = md->hwpt;
    known.insert({edu_pt, md->stdev, md->idev, mock_pt});
    struct mock_owner {  // IOMMU_DESTROY of the mock device when it goes (or earlier, by release())
        const iommufd& ctx;
        std::uint32_t stdev;
        ~mock_owner() { release(); }
        void release() {
            if (stdev) (void)ctx.destroy(std::exchange(stdev, 0));
        }
    } mock_guard{*ctx, md->stdev};
    // the page tables the devices are on are theirs: IOMMU_DESTROY says EBUSY
    auto attached = [&](std::uint32_t pt, const char* who) {
        auto r = ctx->destroy(pt);
        if (!r && r.error().code == EBUSY) return true;
        FAIL_CHECK(who << " is not on HWPT " << pt << " any more: IOMMU_DESTROY answered " << text(r));
        return false;
    };

    {
        const footprint base = measure();
        sweep("ioas map of 2 MiB guest RAM (IOMMU_IOAS_MAP: VT-d + mock domains)",
              [&](unsigned n) -> result<void> {
                  auto m = nth.armed(n, [&] { return as->map(ram.data(), ram_size, dma_access::read_write, iova); });
                  if (!m) return m.error();
                  CHECK(m->iova() == iova);
                  REQUIRE_OK(m->unmap());
                  return {};
              },
              [&](unsigned) { return clean(base, "ioas map"); });
        bool unmapped = false;
        sweep("dma_mapping::unmap of 2 MiB (IOMMU_IOAS_UNMAP)",
              [&](unsigned n) -> result<void> {
                  auto m = as->map(ram.data(), ram_size, dma_access::read_write, iova);
                  REQUIRE_OK(m);
                  auto r = nth.armed(n, [&] { return m->unmap(); });
                  unmapped = r.has_value();
                  return r;
              },
              // a failed unmap leaves the whole mapping (unmap_all finds it), never a part
              [&](unsigned) { return clean(base, "ioas unmap", unmapped ? 0 : ram_size); });
    }
    // A replace onto an IOAS tries the IOAS's automatic HWPTs, and 7.3.4's iommu_replace_group_handle() does not
    // check that a HWPT's domain belongs to the device's IOMMU driver (__iommu_attach_group() does): edu replaced
    // back onto an IOAS that holds the mock device's automatic HWPT gets the mock driver's attach_dev and the kernel
    // oopses (general protection fault in mock_domain_nop_attach), no fault injection needed. So the mock device
    // leaves this IOAS before edu's replace is swept, and its own HWPT sweep runs in an IOAS of its own.
    mock_guard.release();
    for (auto id : {md->stdev, md->idev, mock_pt}) known.erase(id);
    REQUIRE(no_stray_objects(*ctx, known));
    {
        const footprint base = measure();
        sweep("hwpt::alloc + edu replace onto it (IOMMU_HWPT_ALLOC, ATTACH_IOMMUFD_PT)",
              [&](unsigned n) -> result<void> {
                  std::optional<hwpt> h;
                  auto r = nth.armed(n, [&]() -> result<void> {
                      auto a = hwpt::alloc(*ctx, edu->dev_id(), as->id());
                      if (!a) return a.error();
                      h = std::move(*a);
                      if (auto rep = edu->replace(*h); !rep) return rep.error();
                      return {};
                  });
                  if (r) REQUIRE_OK(edu->replace(as->id()));  // back onto a (new) automatic HWPT of the IOAS
                  h.reset();
                  known.erase(edu_pt);
                  known.insert(edu_pt = edu->pt_id());
                  return r;
              },
              [&](unsigned) { return attached(edu_pt, "edu") && clean(base, "hwpt edu"); });
    }
    auto as2 = ctx->alloc_ioas();  // the mock device's own IOAS
    REQUIRE_OK(as2);
    auto md2 = mock_domain(*ctx, as2->id());
    REQUIRE_OK(md2);
    mock_owner mock2_guard{*ctx, md2->stdev};
    std::uint32_t mock2_pt = md2->hwpt;
    known.insert({as2->id(), md2->stdev, md2->idev, mock2_pt});
    {
        const footprint base = measure();
        sweep("mock hwpt NEST_PARENT + nested (selftest data) + MOCK_DOMAIN_REPLACE onto it",
              [&](unsigned n) -> result<void> {
                  std::optional<hwpt> parent, nested;
                  bool replaced = false;
                  auto r = nth.armed(n, [&]() -> result<void> {
                      auto p = hwpt::alloc(*ctx, md2->idev, as2->id(), uapi::hwpt_alloc_flag::nest_parent);
                      if (!p) return p.error();
                      parent = std::move(*p);
                      auto q = hwpt::alloc_nested(*ctx, md2->idev, *parent, mock::hwpt_selftest{mock::iotlb_default, 0});
                      if (!q) return q.error();
                      nested = std::move(*q);
                      auto rep = mock_replace(*ctx, md2->stdev, nested->id());
                      if (!rep) return rep.error();
                      replaced = true;
                      return {};
                  });
                  if (replaced) {
                      auto back = mock_replace(*ctx, md2->stdev, as2->id());
                      REQUIRE_OK(back);
                      known.erase(mock2_pt);
                      known.insert(mock2_pt = *back);
                  }
                  nested.reset();
                  parent.reset();
                  return r;
              },
              [&](unsigned) { return attached(edu_pt, "edu") && attached(mock2_pt, "the mock device") && clean(base, "hwpt mock"); });
        // the IOAS still works: a map after all of it lands, and edu is on it
        auto m = as->map(ram.data(), ram_size, dma_access::read_write, iova);
        REQUIRE_OK(m);
    }
    print_summary(all, t0, kmsg);
}

TEST_CASE("vm: kernel fault injection into the type1 objects and the device: container + group + SET_IOMMU, "
          "MAP_DMA / UNMAP_DMA, device open, region + BAR mmap, MSI",
          "[kernel_faults]") {
    require_fault_injection();
    prefault_memory();
    const auto t0 = clock_type::now();
    auto edu = env_list("VFIOPP_EDU");
    auto groups = env_list("VFIOPP_EDU_GROUPS");
    REQUIRE(!edu.empty());
    REQUIRE(groups.size() == edu.size());
    const unsigned gnum = static_cast<unsigned>(std::stoul(groups[0]));
    kmsg_watch kmsg;
    REQUIRE(kmsg.ok());
    (void)kmsg.since();
    fail_nth nth;
    REQUIRE(nth.ok());
    std::vector<op_stats> all;
    sweeper sweep{nth, kmsg, all};
    constexpr std::uint64_t ram_size = 2 * MiB, iova = 16 * MiB;
    page_buffer ram(ram_size);
    REQUIRE(ram.data() != nullptr);
    std::memset(ram.data(), 0xa5, ram_size);

    {   // the group is free afterwards: it opens again (a group opens once at a time) and is in no container
        const footprint base = measure();
        auto group_free = [&] {
            auto g = group::open(gnum);
            if (!g) {
                FAIL_CHECK("group " << gnum << " does not open again: " << text(g));
                return false;
            }
            auto st = g->status();
            if (!st || st->container_set) {
                FAIL_CHECK("group " << gnum << " is still in a container: " << text(st));
                return false;
            }
            return true;
        };
        sweep("container::open + group::open + attach (SET_CONTAINER, SET_IOMMU type1v2)",
              [&](unsigned n) -> result<void> {
                  std::optional<container> c;
                  std::optional<group> g;  // goes first (UNSET_CONTAINER), then the container
                  return nth.armed(n, [&]() -> result<void> {
                      auto cc = container::open();
                      if (!cc) return cc.error();
                      c = std::move(*cc);
                      auto gg = group::open(gnum);
                      if (!gg) return gg.error();
                      g = std::move(*gg);
                      return g->attach(*c);
                  });
              },
              [&](unsigned) { return group_free() && same_footprint(base, "container + group"); });
    }

    auto c = container::open();
    REQUIRE_OK(c);
    auto g = group::open(gnum);
    REQUIRE_OK(g);
    REQUIRE_OK(g->attach(*c));
    // the device's first open enables the PCI device (ACPI _PRT: see the file's comment), disarmed; a second
    // GET_DEVICE_FD of the open device is swept (the group path allows several fds of one device)
    auto dev = g->open_device(edu[0]);
    REQUIRE_OK(dev);
    REQUIRE_OK(enable_bus_master(*dev));  // for the MSI check at the end
    {
        const footprint base = measure();
        sweep("group::open_device of the open device (VFIO_GROUP_GET_DEVICE_FD, second fd)",
              [&](unsigned n) -> result<void> {
                  auto d = nth.armed(n, [&] { return g->open_device(edu[0]); });
                  if (!d) return d.error();
                  return {};
              },
              [&](unsigned) { return same_footprint(base, "second device fd"); });
    }
    {
        const footprint base = measure();
        auto clean = [&](const std::string& what, std::uint64_t expect_left = 0) {
            bool ok = true;
            auto left = c->unmap_all();
            if (!left || *left != expect_left) {
                FAIL_CHECK(what << ": VFIO_IOMMU_UNMAP_DMA ALL: " << text(left) << ", " << (left ? *left : 0)
                                << " bytes, expected " << expect_left);
                ok = false;
            }
            if (c->mappings() != 0) {
                FAIL_CHECK(what << ": the container still counts " << c->mappings() << " live mappings");
                ok = false;
            }
            return same_footprint(base, what.c_str()) && ok;
        };
        sweep("container map of 2 MiB guest RAM (VFIO_IOMMU_MAP_DMA)",
              [&](unsigned n) -> result<void> {
                  auto m = nth.armed(n, [&] { return c->map(ram.data(), iova, ram_size); });
                  if (!m) return m.error();
                  REQUIRE_OK(m->unmap());
                  return {};
              },
              [&](unsigned) { return clean("type1 map"); });
        bool unmapped = false;
        sweep("dma_mapping::unmap of 2 MiB (VFIO_IOMMU_UNMAP_DMA)",
              [&](unsigned n) -> result<void> {
                  auto m = c->map(ram.data(), iova, ram_size);
                  REQUIRE_OK(m);
                  auto r = nth.armed(n, [&] { return m->unmap(); });
                  unmapped = r.has_value();
                  return r;
              },
              [&](unsigned) { return clean("type1 unmap", unmapped ? 0 : ram_size); });
        sweep("device info + region info (BAR0) + BAR mmap",
              [&](unsigned n) -> result<void> {
                  return nth.armed(n, [&]() -> result<void> {
                      auto info = dev->info();
                      if (!info) return info.error();
                      auto bar = dev->region(pci_region_index::bar0);
                      if (!bar) return bar.error();
                      return bar->map();  // unmapped when bar goes
                  });
              },
              [&](unsigned) { return same_footprint(base, "region + BAR map"); });
        sweep("interrupts(MSI) + enable(1): eventfd + VFIO_DEVICE_SET_IRQS",
              [&](unsigned n) -> result<void> {
                  std::optional<interrupts> msi;
                  return nth.armed(n, [&]() -> result<void> {
                      auto q = dev->interrupts(pci_irq_index::msi);
                      if (!q) return q.error();
                      msi = std::move(*q);
                      return msi->enable(1u);  // disabled (SET_IRQS count 0) when msi goes, disarmed
                  });
              },
              [&](unsigned) { return same_footprint(base, "MSI enable"); }, std::span(&irq_proc_teardown, 1));
        // everything still works afterwards: MSI from edu through the eventfd, a mapping
        auto bar = dev->region(pci_region_index::bar0);
        REQUIRE_OK(bar);
        REQUIRE_OK(bar->map());
        auto msi = dev->interrupts(pci_irq_index::msi);
        REQUIRE_OK(msi);
        REQUIRE_OK(msi->enable(1u));
        REQUIRE_OK(bar->write<std::uint32_t>(edu_irq_raise, 0x1));
        CHECK(wait_eventfd(msi->eventfd(0), 2000));
        REQUIRE_OK(bar->write<std::uint32_t>(edu_irq_ack, bar->read<std::uint32_t>(edu_irq_status).value()));
        auto m = c->map(ram.data(), iova, ram_size);
        REQUIRE_OK(m);
    }
    print_summary(all, t0, kmsg);
}

TEST_CASE("vm: kernel fault injection into an mtty device open and a migration state change", "[kernel_faults]") {
    require_fault_injection();
    prefault_memory();
    const auto t0 = clock_type::now();
    auto mtty = env_list("VFIOPP_MTTY");
    INFO("the mtty cases need tests/vm/run --mtty N (the ctest boots of the 7.3 kernel have --mtty 2)");
    REQUIRE(!mtty.empty());
    kmsg_watch kmsg;
    REQUIRE(kmsg.ok());
    (void)kmsg.since();
    fail_nth nth;
    REQUIRE(nth.ok());
    std::vector<op_stats> all;
    sweeper sweep{nth, kmsg, all};
    using st = uapi::device_mig_state;

    auto space = dma_space::open(backend::iommufd);
    REQUIRE_OK(space);
    std::set<std::uint32_t> known{space->ioas()->id()};
    {
        const footprint base = measure();
        sweep("dma_space::open_device(mtty): cdev open + BIND_IOMMUFD + ATTACH (an iommufd access)",
              [&](unsigned n) -> result<void> {
                  auto d = nth.armed(n, [&] { return space->open_device(mtty[0]); });
                  if (!d) return d.error();
                  return {};
              },
              [&](unsigned) { return same_footprint(base, "mtty open") && no_stray_objects(*space->context(), known); });
    }
    auto dev = space->open_device(mtty[0]);
    REQUIRE_OK(dev);
    known.insert(dev->dev_id());
    {
        const footprint base = measure();
        // RUNNING whatever happened (a reset when the FSM cannot get there), checked with a fresh read of the state
        auto running = [&] {
            auto m = migration::open(*dev);
            if (!m) {
                FAIL_CHECK("migration::open after the attempt: " << text(m));
                return false;
            }
            if (m->current() != st::running) {
                FAIL_CHECK("mtty is left in state " << static_cast<unsigned>(m->current()) << ", not RUNNING");
                return false;
            }
            return true;
        };
        sweep("migration::open + move_to(STOP_COPY): RUNNING -> RUNNING_P2P -> STOP -> STOP_COPY (data fd)",
              [&](unsigned n) -> result<void> {
                  std::optional<migration> mig;
                  auto r = nth.armed(n, [&]() -> result<void> {
                      auto m = migration::open(*dev);
                      if (!m) return m.error();
                      mig = std::move(*m);
                      return mig->move_to(st::stop_copy);
                  });
                  if (mig && mig->current() != st::running) {
                      if (auto back = mig->move_to(st::running); !back) {
                          INFO("back to RUNNING: " << text(back));
                          REQUIRE_OK(dev->reset());
                      }
                  }
                  return r;
              },
              [&](unsigned) { return running() && same_footprint(base, "migration"); });
    }
    print_summary(all, t0, kmsg);
}
