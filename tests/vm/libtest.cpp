// libtest.cpp - vfiopp against a real kernel, inside the test VM: every ioctl below is built, issued and decoded
// by the library (wire builders, io::submit, negotiate, capability-chain views, errors); no <linux/vfio.h> or
// <linux/iommufd.h>. It proves on Debian's 6.1 kernel and on the 7.3 iommufd kernel that the library's images are
// the ones the kernel accepts: container/group/type1 setup, VFIO_IOMMU_GET_INFO grown from a too-small argsz and
// its capability chain (the IOVA ranges of TESTBED.md), MAP_DMA refused in the MSI hole and on a duplicate,
// an edu DMA round trip RAM -> device -> RAM through the IOMMU, an MSI through an eventfd set with the typed
// SET_IRQS builder, the 2020 proposal's ioctls answered ENOTTY by mainline; on the iommufd kernel also the cdev +
// iommufd path (BIND, IOAS_ALLOC, IOVA_RANGES by EMSGSIZE negotiation, ATTACH with and without PASID, IOAS_MAP,
// DMA, GET_HW_INFO with VT-d data, HWPT_ALLOC + replace, NEST_PARENT refused, DETACH). Only the IOMMUFD_TEST mock's
// ioctl and data types, which vfiopp does not mirror, go through wire::prep or a request type of the test's own;
// every fd the kernel hands back (device fds, the fault queue, the vEVENTQ, the migration data fd) is a
// vfiopp::unique_fd. The "builders" sections then walk every entry of wire::builders the sections before do not
// issue (dirty tracking, UPDATE_VADDR, UNMAP_ALL, INTx through every SET_IRQS form, reset / hot reset, ioeventfd,
// every device feature, gfx, IOMMU_OPTION, VFIO_IOAS, ALLOW_IOVAS, COPY, MAP_FILE, CHANGE_PROCESS, HWPT variants,
// fault queue, vIOMMU objects on the mock, mtty migration with --mtty) and check success where the testbed can
// answer, else the exact errno and why; the last check fails if an entry was never issued (allowed: the iommufd
// builders on 6.1, which has no /dev/iommu). Typed-builder requests go through issue()/negotiate(), which count them.
// Run it with tests/vm/run (it needs the VFIOPP_* environment). Prints one PASS/FAIL line per check and
// "N passed, M failed" last; exit status 0 only when nothing failed and something passed.
#include <vfiopp/fmt_error.hpp>
#include <vfiopp/io/negotiate.hpp>
#include <vfiopp/io/sync.hpp>
#include <vfiopp/uapi/all.hpp>
#include <vfiopp/unique_fd.hpp>
#include <vfiopp/wire/builders.hpp>
#include <vfiopp/wire/caps.hpp>
#include <vfiopp/wire/iommufd.hpp>
#include <vfiopp/wire/nesting.hpp>
#include <vfiopp/wire/request.hpp>
#include <vfiopp/wire/vfio.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace {

using namespace vfiopp;
using uapi::u32;
using uapi::u64;

int n_pass = 0;
int n_fail = 0;
// Debian's 6.1 kernel packs GET_INFO capabilities at 4-byte boundaries (the 8-byte alignment of
// vfio_info_cap_add() and vfio_iommu_type1_info::pad came later); set from VFIOPP_VM_KERNEL.
bool packed_caps_kernel = false;

// check(ok, fmt, args...): one PASS/FAIL line; returns ok so a sequence that cannot go on can stop.
template <typename... Args>
bool check(bool ok, fmt::format_string<Args...> f, Args&&... args) {
    fmt::print("{}: {}\n", ok ? "PASS" : "FAIL", fmt::format(f, std::forward<Args>(args)...));
    std::fflush(stdout);
    (ok ? n_pass : n_fail)++;
    return ok;
}


template <typename... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
    fmt::print("INFO: {}\n", fmt::format(f, std::forward<Args>(args)...));
    std::fflush(stdout);
}

// "ok" or the library's text of the error (ioctl, field, errno, message).
template <typename R>
std::string text(const R& r) {
    return r ? std::string("ok") : fmt::format("{}", r.error());
}

// True when r failed in the kernel with errno `code` and the error names `ioctl`.
template <typename R>
bool kernel_refused(const R& r, int code, std::string_view ioctl) {
    return !r && r.error().code == code && r.error().origin == error_origin::kernel && r.error().ioctl == ioctl &&
           fmt::format("{}", r.error()).find(ioctl) != std::string::npos;
}

// ---- builder coverage: which wire::builders entries this run issued ----
// Every request built by a typed builder goes through issue() / negotiate() below, which mark the builder entry of
// the request's ioctl (wire::builder_for: matched by ABI, code and name). Requests made with wire::prep or a type
// of the test's own (the IOMMUFD_TEST mock's data) go through io::submit directly and are not counted.
std::array<bool, wire::builders.size()> builder_issued{};

template <typename Arg>
void mark_issued(const uapi::ioctl_def<Arg>& def) {
    if (const auto* b = wire::builder_for(def)) builder_issued[static_cast<std::size_t>(b - wire::builders.data())] = true;
}

// io::submit of a builder's request, counted: `auto r = issue(fd, wire::vfio::device_reset());`
template <typename Req, typename... Fn>
    requires wire::request_like<std::remove_cvref_t<Req>>
auto issue(int fd, Req&& req, Fn&&... fn) {
    mark_issued(std::remove_cvref_t<Req>::ioctl);
    return io::submit(fd, std::forward<Req>(req), std::forward<Fn>(fn)...);
}

// io::negotiate of a builder's request, counted.
template <typename Req, typename... Fn>
auto negotiate(int fd, Req& req, Fn&&... fn) {
    mark_issued(Req::ioctl);
    return io::negotiate(fd, req, std::forward<Fn>(fn)...);
}

// The errno's name: "ENOTTY".
std::string errno_name(int code) {
    const char* n = strerrorname_np(code);
    return n ? n : fmt::format("errno {}", code);
}

// An expected refusal: exactly errno `code` from the kernel for `ioctl`; the line says which builder sent what and
// why the kernel refuses it. Any other outcome (success, another errno, a library refusal) fails.
template <typename R>
bool expect_refusal(const R& r, int code, std::string_view ioctl, std::string_view what, std::string_view why) {
    bool ok = kernel_refused(r, code, ioctl);
    return check(ok, "{}: kernel refused with {}: {}{}", what, errno_name(code), why,
                 ok ? std::string() : fmt::format(" [got: {}]", text(r)));
}

// The kernel this run is on (set in main from VFIOPP_VM_KERNEL): the 7.3 iommufd kernel or Debian's 6.1.
bool kernel_73 = false;
std::vector<std::string> split_env(const char* var) {
    std::vector<std::string> out;
    const char* v = std::getenv(var);
    std::string s = v ? v : "";
    for (std::size_t pos = 0; pos < s.size();) {
        std::size_t end = s.find(' ', pos);
        if (end == std::string::npos) end = s.size();
        if (end > pos) out.push_back(s.substr(pos, end - pos));
        pos = end + 1;
    }
    return out;
}

// ---- edu (QEMU's educational PCI device, TESTBED.md) ----
enum : u32 {
    edu_id = 0x00, edu_liveness = 0x04, edu_irq_status = 0x24, edu_irq_raise = 0x60, edu_irq_ack = 0x64,
    edu_dma_src = 0x80, edu_dma_dst = 0x88, edu_dma_count = 0x90, edu_dma_cmd = 0x98, edu_buffer = 0x40000,
};
enum : u32 { edu_cmd_start = 1, edu_cmd_to_ram = 2 };
constexpr u64 edu_iova_base = 0x100000;  // below edu's 28-bit DMA mask
constexpr std::size_t page = 4096;

u32 rd32(volatile std::uint8_t* bar, u32 off) { return *reinterpret_cast<volatile u32*>(bar + off); }
void wr32(volatile std::uint8_t* bar, u32 off, u32 v) { *reinterpret_cast<volatile u32*>(bar + off) = v; }
u64 rd64(volatile std::uint8_t* bar, u32 off) { return *reinterpret_cast<volatile u64*>(bar + off); }
void wr64(volatile std::uint8_t* bar, u32 off, u64 v) { *reinterpret_cast<volatile u64*>(bar + off) = v; }

double now_s() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// One edu DMA, waited for (edu completes after a 100 ms timer); false on timeout.
bool edu_dma(volatile std::uint8_t* bar, u64 src, u64 dst, u64 count, u32 cmd) {
    wr64(bar, edu_dma_src, src);
    wr64(bar, edu_dma_dst, dst);
    wr64(bar, edu_dma_count, count);
    wr64(bar, edu_dma_cmd, cmd | edu_cmd_start);
    for (double t0 = now_s(); rd64(bar, edu_dma_cmd) & edu_cmd_start; usleep(1000))
        if (now_s() - t0 > 5.0) return false;
    return true;
}

bool wait_eventfd(int efd, int ms) {
    pollfd p{efd, POLLIN, 0};
    u64 count = 0;
    return poll(&p, 1, ms) == 1 && read(efd, &count, sizeof count) == static_cast<ssize_t>(sizeof count) && count > 0;
}

// Two DMA pages (src, dst) of this process and their IOVAs.
struct dma_pages {
    std::uint8_t* src = nullptr;
    std::uint8_t* dst = nullptr;
    u64 src_iova = 0, dst_iova = 0;
};

dma_pages make_pages(unsigned index) {
    void* mem = mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (mem == MAP_FAILED) {
        std::perror("mmap");
        std::exit(2);
    }
    dma_pages p;
    p.src = static_cast<std::uint8_t*>(mem);
    p.dst = p.src + page;
    p.src_iova = edu_iova_base + index * 0x10000;
    p.dst_iova = p.src_iova + page;
    return p;
}

// An opened edu device: fd (owned; from GROUP_GET_DEVICE_FD or a cdev open), config-space offset and BAR0
// mapped, all found through the library.
struct edu_dev {
    std::string tag;
    unique_fd fd;
    u64 cfg_off = 0;
    u64 bar0_size = 0;
    u64 bar0_off = 0;  // BAR0's offset in the device fd (region info)
    volatile std::uint8_t* bar = nullptr;

    void unmap() {
        if (bar) munmap(const_cast<std::uint8_t*>(bar), bar0_size);
        bar = nullptr;
    }
    ~edu_dev() { unmap(); }  // before fd's destructor closes the device
};

// Region info through negotiate() (room for a capability chain) and the chain view; returns the reply.
std::optional<uapi::vfio_region_info> region_info(edu_dev& d, uapi::pci_region_index index, std::string_view what) {
    auto req = wire::vfio::device_get_region_info<256>(index);
    auto r = negotiate(d.fd.get(), req);
    auto reply = req.header();
    auto chain = r ? wire::region_info_chain::parse(req.bytes()) : wire::region_info_chain::parse({});
    bool ok = check(r && chain && reply.index == static_cast<u32>(index) && reply.size > 0,
                    "[{}] GET_REGION_INFO {}: size {:#x} at {:#x}, flags {:#x}, {} capabilities ({}{})", d.tag, what,
                    reply.size, reply.offset, reply.flags.bits(), chain ? chain->size() : 0, text(r),
                    chain ? "" : fmt::format(", chain: {}", chain.error()));
    return ok ? std::optional(reply) : std::nullopt;
}

// Device info, region info, BAR0 mmap, bus master: the device is ready for DMA.
bool edu_open(edu_dev& d) {
    auto di = wire::vfio::device_get_info();
    auto r = issue(d.fd.get(), di);
    auto h = di.header();
    check(r && h.flags.has(uapi::device_info_flag::pci) && h.num_regions >= uapi::pci_num_regions &&
              h.num_irqs >= uapi::pci_num_irqs,
          "[{}] DEVICE_GET_INFO: flags {:#x}, {} regions, {} irqs ({})", d.tag, h.flags.bits(), h.num_regions,
          h.num_irqs, text(r));
    auto cfg = region_info(d, uapi::pci_region_index::config, "config");
    auto bar0 = region_info(d, uapi::pci_region_index::bar0, "BAR0");
    if (!cfg || !bar0) return false;
    auto rwm = uapi::region_info_flag::read | uapi::region_info_flag::write | uapi::region_info_flag::mmap;
    if (!check(bar0->size == (1u << 20) && (bar0->flags & rwm) == rwm, "[{}] BAR0 is 1 MiB, readable, writable, mmappable",
               d.tag))
        return false;
    d.cfg_off = cfg->offset;
    d.bar0_size = bar0->size;
    d.bar0_off = bar0->offset;

    u32 id = 0;
    ssize_t n = pread(d.fd.get(), &id, 4, static_cast<off_t>(d.cfg_off));
    check(n == 4 && id == 0x11e81234, "[{}] config space at the library's offset: vendor/device {:#010x}", d.tag, id);

    void* m = mmap(nullptr, d.bar0_size, PROT_READ | PROT_WRITE, MAP_SHARED, d.fd.get(), static_cast<off_t>(bar0->offset));
    if (!check(m != MAP_FAILED, "[{}] mmap BAR0 at offset {:#x} ({})", d.tag, bar0->offset,
               m == MAP_FAILED ? std::strerror(errno) : "ok"))
        return false;
    d.bar = static_cast<volatile std::uint8_t*>(m);
    wr32(d.bar, edu_liveness, 0x12345678);
    u32 live = rd32(d.bar, edu_liveness);
    check((rd32(d.bar, edu_id) & 0xffff) == 0xed && live == ~0x12345678u, "[{}] BAR0 mmap: id {:#010x}, liveness {:#010x}",
          d.tag, rd32(d.bar, edu_id), live);

    // Bus Master (and memory space): vfio-pci leaves bus mastering off.
    std::uint16_t cmd = 0;
    n = pread(d.fd.get(), &cmd, 2, static_cast<off_t>(d.cfg_off + 4));
    cmd = static_cast<std::uint16_t>(cmd | 0x6);
    ssize_t w = pwrite(d.fd.get(), &cmd, 2, static_cast<off_t>(d.cfg_off + 4));
    cmd = 0;
    ssize_t n2 = pread(d.fd.get(), &cmd, 2, static_cast<off_t>(d.cfg_off + 4));
    return check(n == 2 && w == 2 && n2 == 2 && (cmd & 0x6) == 0x6, "[{}] Bus Master set by a config-space write: PCI_COMMAND {:#06x}",
                 d.tag, cmd);
}

// RAM (src) -> device buffer -> RAM (dst) through the IOMMU; every byte must arrive.
void edu_round_trip(edu_dev& d, const dma_pages& p, std::uint8_t seed, std::string_view via) {
    for (unsigned i = 0; i < page; i++) p.src[i] = static_cast<std::uint8_t>(i * 13 + seed);
    std::memset(p.dst, 0, page);
    bool r1 = edu_dma(d.bar, p.src_iova, edu_buffer, page, 0);
    bool r2 = edu_dma(d.bar, edu_buffer, p.dst_iova, page, edu_cmd_to_ram);
    unsigned bad = 0;
    for (unsigned i = 0; i < page; i++) bad += p.dst[i] != p.src[i];
    check(r1 && r2 && bad == 0, "[{}] DMA round trip {}: iova {:#x} -> device -> iova {:#x}, {} of 4096 bytes differ{}",
          d.tag, via, p.src_iova, p.dst_iova, bad, r1 && r2 ? "" : " (DMA never completed)");
}

// MSI through an eventfd set with the typed SET_IRQS builder, raised by edu's raise register; then disabled.
void edu_msi(edu_dev& d) {
    const unique_fd eventfd_owner{eventfd(0, EFD_CLOEXEC)};
    const int efd = eventfd_owner.get();
    wire::vfio::set_irqs_request<1> req;
    const int fds[] = {efd};
    auto b = wire::vfio::set_irqs_eventfds<wire::vfio::irq_trigger>(req, uapi::pci_irq_index::msi, 0, std::span(fds));
    auto h = req.header();
    bool built = check(b && req.size() == 24 && h.argsz == 24 && h.count == 1 &&
                           h.flags == (uapi::irq_set_flag::data_eventfd | uapi::irq_set_flag::action_trigger) &&
                           req.read<int>(20) == efd,
                       "[{}] set_irqs_eventfds<irq_trigger>(msi, eventfd {}): argsz {}, flags {:#x} ({})", d.tag, efd,
                       h.argsz, h.flags.bits(), text(b));
    auto r = built ? issue(d.fd.get(), req) : result<void>(b.error());
    if (check(r.has_value(), "[{}] VFIO_DEVICE_SET_IRQS MSI -> eventfd ({})", d.tag, text(r))) {
        wr32(d.bar, edu_irq_raise, 0x1);
        bool got = wait_eventfd(efd, 2000);
        u32 st = rd32(d.bar, edu_irq_status);
        wr32(d.bar, edu_irq_ack, st);
        check(got && st == 0x1, "[{}] MSI observed on the eventfd: irq status {:#x}", d.tag, st);
        auto off = wire::vfio::set_irqs_none<wire::vfio::irq_trigger>(uapi::pci_irq_index::msi, 0, 0);
        auto ro = issue(d.fd.get(), off);
        check(ro.has_value() && off.header().argsz == 20, "[{}] SET_IRQS MSI disabled (DATA_NONE, count 0) ({})", d.tag,
              text(ro));
    }
}

// ---- the type1 container path ----
struct type1_state {
    unique_fd container;
    std::vector<unique_fd> groups;
};

void test_type1(const std::vector<std::string>& edu, const std::vector<std::string>& group_ids, type1_state& st) {
    fmt::print("==== type1 container (vfiopp) ====\n");
    if (!check(edu.size() == 2 && group_ids.size() == 2, "[type1] two edu devices and their groups in the environment ({}, {})",
               edu.size(), group_ids.size()))
        return;
    st.container.reset(open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC));
    if (!check(bool(st.container), "[type1] open /dev/vfio/vfio ({})", st.container ? "ok" : std::strerror(errno)))
        return;
    const int cfd = st.container.get();

    auto version = issue(cfd, wire::vfio::get_api_version());
    check(version && *version == static_cast<int>(uapi::vfio_api_version), "[type1] VFIO_GET_API_VERSION: {} ({})",
          version ? *version : -1, text(version));
    for (auto ext : {uapi::extension::type1_iommu, uapi::extension::type1v2_iommu}) {
        auto r = issue(cfd, wire::vfio::check_extension(ext));
        check(r && *r > 0, "[type1] VFIO_CHECK_EXTENSION({}): {} ({})", static_cast<u32>(ext), r ? *r : -1, text(r));
    }
    // an extension number no kernel knows: answered 0, so the check above can tell
    auto bogus = issue(cfd, wire::vfio::check_extension(static_cast<uapi::extension>(0x7fffu)));
    check(bogus && *bogus == 0, "[type1] VFIO_CHECK_EXTENSION(0x7fff) unknown: {} ({})", bogus ? *bogus : -1, text(bogus));

    for (std::size_t i = 0; i < group_ids.size(); i++) {
        std::string path = "/dev/vfio/" + group_ids[i];
        const int g = st.groups.emplace_back(open(path.c_str(), O_RDWR | O_CLOEXEC)).get();
        if (!check(g >= 0, "[type1] open {} ({})", path, g >= 0 ? "ok" : std::strerror(errno))) return;
        auto status = wire::vfio::group_get_status();
        auto rs = issue(g, status);
        check(rs && status.header().flags.has(uapi::group_flag::viable) &&
                  !status.header().flags.has(uapi::group_flag::container_set),
              "[type1] VFIO_GROUP_GET_STATUS {}: flags {:#x} (viable, no container) ({})", path,
              status.header().flags.bits(), text(rs));
        auto set = wire::vfio::group_set_container(cfd);
        auto r = set ? issue(g, *set) : result<void>(set.error());
        check(r && set->size() == sizeof(int) && set->read<int>(0) == cfd,
              "[type1] VFIO_GROUP_SET_CONTAINER {} (image: the container fd {}) ({})", path, cfd, text(r));
        if (i == 0) {
            auto si = issue(cfd, wire::vfio::set_iommu(uapi::extension::type1v2_iommu));
            check(si.has_value(), "[type1] VFIO_SET_IOMMU(TYPE1v2) ({})", text(si));
        }
    }

    // GET_INFO: starts at sizeof(vfio_iommu_type1_info) = 24, too small for the capability chain; negotiate()
    // must re-issue with the argsz the kernel asks for. The spy records what each round sent and got back.
    std::vector<std::pair<u32, u32>> rounds;
    auto spy = [&rounds](int fd, unsigned long code, void* arg) {
        u32 sent = 0, back = 0;
        std::memcpy(&sent, arg, 4);
        int rc = io::sys_ioctl{}(fd, code, arg);
        std::memcpy(&back, arg, 4);
        rounds.emplace_back(sent, back);
        return rc;
    };
    auto gi = wire::vfio::iommu_get_info<512>();
    u32 first = static_cast<u32>(gi.size());
    auto rg = negotiate(cfd, gi, spy);
    std::string trace;
    for (auto [s, b] : rounds) trace += fmt::format(" [sent {}, kernel {}]", s, b);
    // the chain MIGRATION (32) -> DMA_AVAIL (12) -> IOVA_RANGE (16 + 2 * 16) after the 24-byte reply: 116 bytes
    // packed (6.1), 120 with DMA_AVAIL padded to 16 (kernels that align capabilities to 8)
    const u32 need = packed_caps_kernel ? 116 : 120;
    check(rg && first == sizeof(uapi::vfio_iommu_type1_info) && rounds.size() == 2 && rounds[0].first == first &&
              rounds[0].second == need && rounds[1].first == need && gi.size() == need && gi.header().argsz == need,
          "[type1] VFIO_IOMMU_GET_INFO negotiated from argsz {} to {} (expected {}):{} ({})", first, gi.size(), need,
          trace, text(rg));
    {
        std::string raw;  // the chain as the kernel laid it out, read with request::read (no validation)
        for (u32 off = gi.header().cap_offset, n = 0; off && n < 8; n++) {
            auto h = gi.read<uapi::vfio_info_cap_header>(off);
            raw += fmt::format(" id {}@{}", h.id, off);
            off = h.next;
        }
        info("[type1] raw capability offsets:{}", raw);
    }
    auto ih = gi.header();
    check(ih.flags.has(uapi::iommu_info_flag::caps) && ih.flags.has(uapi::iommu_info_flag::pgsizes) &&
              (ih.iova_pgsizes & page) && ih.cap_offset >= sizeof(uapi::vfio_iommu_type1_info),
          "[type1] GET_INFO reply: flags {:#x}, iova_pgsizes {:#x}, cap_offset {}", ih.flags.bits(), ih.iova_pgsizes,
          ih.cap_offset);

    auto chain = wire::iommu_info_chain::parse(gi.bytes());
    if (check(chain.has_value() && !chain->truncated(), "[type1] capability chain parsed ({})",
                   chain ? "ok" : fmt::format("{}", chain.error()))) {
        std::string order;
        int n_iova = 0, n_mig = 0, n_avail = 0, n_unknown = 0;
        for (const auto& cap : *chain)
            std::visit(
                [&](const auto& c) {
                    using C = std::remove_cvref_t<decltype(c)>;
                    if constexpr (std::is_same_v<C, wire::unknown_cap>) {
                        n_unknown++;
                        order += fmt::format(" unknown({})", c.id());
                    } else {
                        order += fmt::format(" {}@{}", C::name, c.offset);
                        n_iova += std::is_same_v<C, wire::iova_range_cap>;
                        n_mig += std::is_same_v<C, wire::migration_cap>;
                        n_avail += std::is_same_v<C, wire::dma_avail_cap>;
                    }
                },
                cap);
        check(n_iova == 1 && n_mig == 1 && n_avail == 1 && n_unknown == 0 && chain->size() == 3,
              "[type1] chain walk: IOVA_RANGE, MIGRATION and DMA_AVAIL once each:{}", order);
        auto ranges = chain->find<wire::iova_range_cap>();
        std::string rs;
        if (ranges)
            for (auto r : ranges->ranges) rs += fmt::format(" [{:#x}, {:#x}]", r.start, r.end);
        check(ranges && ranges->ranges.size() == 2 && ranges->ranges[0].start == 0 &&
                  ranges->ranges[0].end == 0xfedfffffu && ranges->ranges[1].start == 0xfef00000u &&
                  ranges->ranges[1].end == 0xffffffffffffu,
              "[type1] IOVA ranges as in TESTBED.md (the MSI hole left out):{}", rs);
        auto avail = chain->find<wire::dma_avail_cap>();
        check(avail && avail->value.avail > 0, "[type1] DMA_AVAIL: {} mappings", avail ? avail->value.avail : 0);
    }

    // MAP_DMA: into the MSI hole (refused by the kernel), then src/dst pages of both devices, then a duplicate.
    auto rw = uapi::map_dma_flag::read | uapi::map_dma_flag::write;
    dma_pages pages[2] = {make_pages(0), make_pages(1)};
    {
        auto hole = wire::vfio::iommu_map_dma(reinterpret_cast<std::uintptr_t>(pages[0].src), 0xfee00000u, page, rw);
        auto r = hole ? issue(cfd, *hole) : result<void>(hole.error());
        check(kernel_refused(r, EINVAL, "VFIO_IOMMU_MAP_DMA"), "[type1] MAP_DMA at iova 0xfee00000 (MSI hole) refused: {}",
              text(r));
    }
    bool mapped = true;
    for (auto& p : pages)
        for (auto [va, iova] : {std::pair{p.src, p.src_iova}, std::pair{p.dst, p.dst_iova}}) {
            auto m = wire::vfio::iommu_map_dma(reinterpret_cast<std::uintptr_t>(va), iova, page, rw);
            auto r = m ? issue(cfd, *m) : result<void>(m.error());
            mapped &= check(r && m->header().argsz == 32 && m->header().iova == iova, "[type1] MAP_DMA 4 KiB at iova {:#x} ({})",
                            iova, text(r));
        }
    {
        auto dup = wire::vfio::iommu_map_dma(reinterpret_cast<std::uintptr_t>(pages[0].src), pages[0].src_iova, page, rw);
        auto r = dup ? issue(cfd, *dup) : result<void>(dup.error());
        check(kernel_refused(r, EEXIST, "VFIO_IOMMU_MAP_DMA"), "[type1] duplicate MAP_DMA at iova {:#x}: {}",
              pages[0].src_iova, text(r));
    }

    for (std::size_t i = 0; i < edu.size() && i < st.groups.size() && mapped; i++) {
        edu_dev d;
        d.tag = "type1 " + edu[i];
        auto get = wire::vfio::group_get_device_fd(edu[i]);
        auto fd = get ? issue(st.groups[i].get(), *get) : result<unique_fd>(get.error());
        if (!check(fd && *fd && get->size() == edu[i].size() + 1,
                   "[{}] VFIO_GROUP_GET_DEVICE_FD (image: the name, {} bytes with its NUL): fd {} ({})", d.tag,
                   get ? get->size() : 0, fd ? fd->get() : -1, text(fd)))
            continue;
        d.fd = std::move(*fd);
        if (!edu_open(d)) continue;
        edu_round_trip(d, pages[i], static_cast<std::uint8_t>(5 + i), "through type1");
        edu_msi(d);
    }

    for (auto& p : pages) {
        for (u64 iova : {p.src_iova, p.dst_iova}) {
            auto req = wire::vfio::iommu_unmap_dma(iova, page);
            auto r = req ? issue(cfd, *req) : result<void>(req.error());
            const u64 unmapped = req ? req->header().size : 0;
            check(r && unmapped == page && req->header().argsz == 24, "[type1] UNMAP_DMA iova {:#x}: {} bytes ({})", iova,
                  unmapped, text(r));
        }
        munmap(p.src, 2 * page);
    }

    // The 2020 proposal's ioctls: a mainline type1 container does not know them (ENOTTY), and the error names them.
    fmt::print("==== the 2020 proposal on a mainline container ====\n");
    {
        auto req = wire::pasid_alloc<uapi::abi::seed>({1, 1000});
        auto r = req ? issue(cfd, *req) : result<void>(req.error());
        check(kernel_refused(r, ENOTTY, "VFIO_IOMMU_PASID_REQUEST") && req->ioctl.code == 0x3b7a &&
                  req->header().flags == uapi::seed::pasid_request_flag::alloc && req->header().range.max == 1000,
              "[proposal] seed VFIO_IOMMU_PASID_REQUEST ALLOC (0x3b7a, argsz {}): {}", req ? req->header().argsz : 0,
              text(r));
    }
    {
        auto req = wire::pasid_free<uapi::abi::seed>(5u);
        auto r = issue(cfd, req);
        check(kernel_refused(r, ENOTTY, "VFIO_IOMMU_PASID_REQUEST") && req.ioctl.code == 0x3b7a &&
                  req.header().flags == uapi::seed::pasid_request_flag::free && req.header().pasid == 5,
              "[proposal] seed VFIO_IOMMU_PASID_REQUEST FREE of pasid 5 (0x3b7a, argsz {}): {}", req.header().argsz,
              text(r));
    }
    {
        // v7 returns the PASID as the ioctl's value: submit() yields result<int>
        auto req = wire::pasid_alloc<uapi::abi::v7>({1, 1000});
        auto r = req ? issue(cfd, *req) : result<int>(req.error());
        check(kernel_refused(r, ENOTTY, "VFIO_IOMMU_PASID_REQUEST") && req->ioctl.code == 0x3b76 &&
                  req->header().flags == uapi::v7::pasid_request_flag::alloc,
              "[proposal] v7 VFIO_IOMMU_PASID_REQUEST ALLOC (0x3b76, argsz {}): {}", req ? req->header().argsz : 0,
              text(r));
    }
    {
        auto req = wire::pasid_free<uapi::abi::v7>({1, 1000});
        auto r = req ? issue(cfd, *req) : result<int>(req.error());
        check(kernel_refused(r, ENOTTY, "VFIO_IOMMU_PASID_REQUEST") && req->ioctl.code == 0x3b76 &&
                  req->header().flags == uapi::v7::pasid_request_flag::free,
              "[proposal] v7 VFIO_IOMMU_PASID_REQUEST FREE of [1, 1000] (0x3b76, argsz {}): {}",
              req ? req->header().argsz : 0, text(r));
    }
    uapi::iommu_cache_invalidate_info inv{};
    inv.argsz = sizeof inv;
    inv.version = 1;
    inv.cache = uapi::iommu_cache_inv_type::iotlb;
    inv.granularity = uapi::iommu_inv_granularity::domain;
    {
        auto req = wire::nesting_op<uapi::abi::seed>(wire::cache_invalidate{inv}).value();
        auto r = issue(cfd, req);
        check(kernel_refused(r, ENOTTY, "VFIO_IOMMU_NESTING_OP") && req.size() == 12 + sizeof inv &&
                  req.header().op == uapi::seed::nesting_op::cache_invld && req.ioctl.code == 0x3b7b,
              "[proposal] seed VFIO_IOMMU_NESTING_OP CACHE_INVLD (0x3b7b, argsz {}): {}", req.size(), text(r));
    }
    {
        auto req = wire::nesting_op<uapi::abi::v7>(wire::cache_invalidate{inv}).value();
        auto r = issue(cfd, req);
        check(kernel_refused(r, ENOTTY, "VFIO_IOMMU_NESTING_OP") && req.size() == 8 + sizeof inv &&
                  req.header().flags == 2 && req.ioctl.code == 0x3b77,
              "[proposal] v7 VFIO_IOMMU_NESTING_OP CACHE_INVLD (0x3b77, argsz {}): {}", req.size(), text(r));
    }
}

void close_type1(type1_state& st) {
    for (auto& g : st.groups)
        if (g) {
            auto r = issue(g.get(), wire::vfio::group_unset_container());
            check(r.has_value(), "[type1] VFIO_GROUP_UNSET_CONTAINER ({})", text(r));
            g.reset();
        }
    st.groups.clear();
    st.container.reset();
}

// ---- the VFIO cdev + iommufd path (7.3 kernel) ----
// One page at iova, readable and writeable; the builder sets FIXED_IOVA because an iova is given (without it the
// kernel would pick the iova: the duplicate map would not be EEXIST and the DMA round trip would fault).
result<void> ioas_map(int ifd, u32 ioas, void* va, u64 iova) {
    auto req = wire::iommufd::ioas_map(ioas, reinterpret_cast<std::uintptr_t>(va), page,
                                       uapi::ioas_map_flag::readable | uapi::ioas_map_flag::writeable, iova);
    return req ? issue(ifd, *req) : result<void>(req.error());
}

// The whole device (no PASID: flags 0, argsz 12) to IOAS/HWPT pt_id; the HWPT the kernel attached.
result<u32> attach(const edu_dev& d, u32 pt_id) {
    auto req = wire::vfio::device_attach_iommufd_pt(pt_id);
    if (auto r = issue(d.fd.get(), req); !r) return r.error();
    return req.header().pt_id;
}

result<void> destroy(int ifd, u32 id) { return issue(ifd, wire::iommufd::destroy(id)); }

void test_iommufd(const std::vector<std::string>& edu, const std::vector<std::string>& cdevs) {
    fmt::print("==== VFIO cdev + iommufd (vfiopp) ====\n");
    if (!check(!cdevs.empty() && cdevs.size() == edu.size(), "[iommufd] every edu has a VFIO cdev ({} of {})", cdevs.size(),
               edu.size()))
        return;
    const unique_fd iommufd{open("/dev/iommu", O_RDWR | O_CLOEXEC)};
    const int ifd = iommufd.get();
    if (!check(ifd >= 0, "[iommufd] open /dev/iommu ({})", ifd >= 0 ? "ok" : std::strerror(errno))) return;

    edu_dev d;  // after iommufd: closed (unbound) first
    d.tag = "iommufd " + edu[0];
    d.fd.reset(open(cdevs[0].c_str(), O_RDWR | O_CLOEXEC));
    if (!check(bool(d.fd), "[{}] open {} ({})", d.tag, cdevs[0], d.fd ? "ok" : std::strerror(errno))) return;
    // without a VF token: flags 0, argsz 16 (token_uuid_ptr not sent; the kernel takes 16 since 6.6)
    auto bind = wire::vfio::device_bind_iommufd(ifd);
    auto rb = bind ? issue(d.fd.get(), *bind) : result<void>(bind.error());
    const u32 devid = bind ? bind->header().out_devid : 0;
    check(rb && devid != 0 && bind->size() == 16, "[{}] VFIO_DEVICE_BIND_IOMMUFD (argsz {}): devid {} ({})", d.tag,
          bind ? bind->size() : 0, devid, text(rb));

    auto alloc = wire::iommufd::ioas_alloc();
    auto ra = issue(ifd, alloc);
    const u32 ioas = alloc.header().out_ioas_id;
    check(ra && ioas != 0 && alloc.header().size == 12, "[iommufd] IOMMU_IOAS_ALLOC: ioas {} ({})", ioas, text(ra));
    if (!rb || !ra) return;

    auto at = attach(d, ioas);
    const std::size_t at_size = wire::vfio::device_attach_iommufd_pt(ioas).size();
    check(at && *at != 0 && *at != ioas && at_size == 12,
          "[{}] VFIO_DEVICE_ATTACH_IOMMUFD_PT (argsz {}, no PASID) to ioas {}: auto HWPT {} ({})", d.tag, at_size, ioas,
          at ? *at : 0, text(at));

    // The PASID forms (7.3): flags PASID, argsz 16 to attach, 12 to detach. edu has no PASID capability and the
    // IOAS's auto HWPT was not allocated PASID-compatible, so no PASID attach can succeed; the errnos show how far
    // the kernel read the image: ENOENT for an unknown pt_id comes from iommufd's object lookup, after vfio took
    // the 16-byte image (a short one is EINVAL before it); EINVAL for the IOAS is iommufd's PASID-compatibility
    // check of the HWPT. Detaching a PASID never attached is a successful no-op once vfio took the 12-byte image.
    if (at) {
        constexpr u32 pasid = 1;
        auto nopt = wire::vfio::device_attach_iommufd_pt(0xfffffu, pasid);
        auto rn = issue(d.fd.get(), nopt);
        check(kernel_refused(rn, ENOENT, "VFIO_DEVICE_ATTACH_IOMMUFD_PT") && nopt.size() == 16 &&
                  nopt.header().flags.has(uapi::device_attach_flag::pasid) && nopt.header().pasid == pasid,
              "[{}] ATTACH_IOMMUFD_PT pasid {} (argsz {}) to the unknown pt_id 0xfffff: {}", d.tag, pasid, nopt.size(),
              text(rn));
        auto pa = wire::vfio::device_attach_iommufd_pt(ioas, pasid);
        auto rp = issue(d.fd.get(), pa);
        check(kernel_refused(rp, EINVAL, "VFIO_DEVICE_ATTACH_IOMMUFD_PT"),
              "[{}] ATTACH_IOMMUFD_PT pasid {} to ioas {} (auto HWPT not PASID-compatible): {}", d.tag, pasid, ioas,
              text(rp));
        auto pd = wire::vfio::device_detach_iommufd_pt(pasid);
        auto rd = issue(d.fd.get(), pd);
        check(rd && pd.size() == 12 && pd.header().flags.has(uapi::device_detach_flag::pasid) && pd.header().pasid == pasid,
              "[{}] VFIO_DEVICE_DETACH_IOMMUFD_PT pasid {} (argsz {}), never attached ({})", d.tag, pasid, pd.size(),
              text(rd));
    }

    // IOVA ranges: an array of 1 is too small (the kernel answers EMSGSIZE with the count it needs, 2, and the
    // helper refuses to grow past the caller's storage); an array of 8 gets both ranges in one call.
    {
        std::vector<std::pair<int, u32>> calls;  // (errno or 0, num_iovas written back)
        auto spy = [&calls](int fd, unsigned long code, void* arg) {
            int rc = io::sys_ioctl{}(fd, code, arg);
            int e = rc < 0 ? errno : 0;
            uapi::iommu_ioas_iova_ranges back{};
            std::memcpy(&back, arg, sizeof back);
            calls.emplace_back(e, back.num_iovas);
            errno = e;
            return rc;
        };
        std::array<uapi::iommu_iova_range, 1> one{};
        mark_issued(uapi::iommufd::ioas_iova_ranges);  // io::ioas_iova_ranges builds it with wire::iommufd::ioas_iova_ranges
        auto small = io::ioas_iova_ranges(ifd, ioas, std::span(one), spy);
        check(!small && small.error().code == EMSGSIZE && small.error().field == "num_iovas" &&
                  small.error().ioctl == "IOMMU_IOAS_IOVA_RANGES" && calls.size() == 1 && calls[0].first == EMSGSIZE &&
                  calls[0].second == 2,
              "[iommufd] IOAS_IOVA_RANGES into 1 entry: kernel EMSGSIZE asking for {}; library: {}",
              calls.empty() ? 0 : calls[0].second, text(small));
        calls.clear();
        std::array<uapi::iommu_iova_range, 8> eight{};
        auto got = io::ioas_iova_ranges(ifd, ioas, std::span(eight), spy);
        std::string rs;
        if (got)
            for (auto r : got->ranges) rs += fmt::format(" [{:#x}, {:#x}]", r.start, r.last);
        check(got && got->ranges.size() == 2 && got->ranges[0].start == 0 && got->ranges[0].last == 0xfedfffffu &&
                  got->ranges[1].start == 0xfef00000u && got->ranges[1].last == 0xffffffffffffu && calls.size() == 1,
              "[iommufd] IOAS_IOVA_RANGES into 8 entries, {} call(s):{} ({})", calls.size(), rs, text(got));
        // out_iova_alignment: the smallest page size of the attached (VT-d) domain
        check(got && got->alignment == page, "[iommufd] IOAS_IOVA_RANGES out_iova_alignment: {:#x}",
              got ? got->alignment : 0);
    }

    dma_pages p = make_pages(2);
    bool mapped = true;
    for (auto [va, iova] : {std::pair{p.src, p.src_iova}, std::pair{p.dst, p.dst_iova}}) {
        auto r = ioas_map(ifd, ioas, va, iova);
        mapped &= check(r.has_value(), "[iommufd] IOMMU_IOAS_MAP 4 KiB at iova {:#x} ({})", iova, text(r));
    }
    {
        auto r = ioas_map(ifd, ioas, p.src, p.src_iova);
        check(kernel_refused(r, EEXIST, "IOMMU_IOAS_MAP"), "[iommufd] duplicate IOAS_MAP at iova {:#x}: {}", p.src_iova,
              text(r));
    }
    if (at && mapped && edu_open(d)) {
        edu_round_trip(d, p, 21, "through the IOAS");

        // GET_HW_INFO with the VT-d vendor data in the caller's struct.
        uapi::iommu_hw_info_vtd vtd{};
        auto hw = wire::iommufd::get_hw_info(devid, vtd);
        auto rh = issue(ifd, hw);
        auto hh = hw.header();
        check(rh && hh.data_type.out_data_type == uapi::hw_info_type::intel_vtd && hh.data_len == sizeof vtd &&
                  vtd.cap_reg != 0 && vtd.ecap_reg != 0,
              "[iommufd] IOMMU_GET_HW_INFO: type {}, data_len {}, cap {:#x}, ecap {:#x}, max_pasid_log2 {}, caps {:#x} ({})",
              static_cast<u32>(hh.data_type.out_data_type), hh.data_len, vtd.cap_reg, vtd.ecap_reg,
              hh.out_max_pasid_log2, hh.out_capabilities.bits(), text(rh));

        // A kernel-managed HWPT from the IOAS, attached in place of the auto HWPT (replace), DMA through it.
        auto ha = wire::iommufd::hwpt_alloc(devid, ioas, {});
        auto rha = ha ? issue(ifd, *ha) : result<void>(ha.error());
        const u32 hwpt = ha ? ha->header().out_hwpt_id : 0;
        check(rha && hwpt != 0 && ha->header().data_type == uapi::hwpt_data_type::none && ha->header().data_len == 0,
              "[iommufd] IOMMU_HWPT_ALLOC (kernel-managed, no data): hwpt {} ({})", hwpt, text(rha));
        if (rha) {
            auto rep = attach(d, hwpt);
            check(rep && *rep == hwpt, "[{}] ATTACH_IOMMUFD_PT replaces the auto HWPT with hwpt {}: now {} ({})", d.tag,
                  hwpt, rep ? *rep : 0, text(rep));
            if (rep) edu_round_trip(d, p, 33, "through the allocated HWPT");
            auto busy = destroy(ifd, hwpt);
            check(kernel_refused(busy, EBUSY, "IOMMU_DESTROY"), "[iommufd] IOMMU_DESTROY of the attached hwpt {}: {}",
                  hwpt, text(busy));
            auto back = attach(d, ioas);
            check(back && *back != hwpt, "[{}] ATTACH_IOMMUFD_PT back to ioas {}: HWPT {} ({})", d.tag, ioas,
                  back ? *back : 0, text(back));
            auto gone = destroy(ifd, hwpt);
            check(gone.has_value(), "[iommufd] IOMMU_DESTROY hwpt {} once detached ({})", hwpt, text(gone));
        }

        // NEST_PARENT: QEMU's VT-d never advertises nesting, so the real kernel refuses it (TESTBED.md).
        auto np = wire::iommufd::hwpt_alloc(devid, ioas, uapi::hwpt_alloc_flag::nest_parent);
        auto rnp = np ? issue(ifd, *np) : result<void>(np.error());
        check(kernel_refused(rnp, EOPNOTSUPP, "IOMMU_HWPT_ALLOC") && np->header().flags.has(uapi::hwpt_alloc_flag::nest_parent),
              "[iommufd] IOMMU_HWPT_ALLOC NEST_PARENT on emulated VT-d: {}", text(rnp));
    }
    for (u64 iova : {p.src_iova, p.dst_iova}) {
        auto req = wire::iommufd::ioas_unmap(ioas, iova, page);
        // the device still uses the IOAS: unmap only after the DMA is done (it is: edu_dma waited)
        auto r = req ? issue(ifd, *req) : result<void>(req.error());
        const u64 unmapped = req ? req->header().length : 0;
        check(r && unmapped == page, "[iommufd] IOMMU_IOAS_UNMAP iova {:#x}: {} bytes ({})", iova, unmapped, text(r));
    }
    munmap(p.src, 2 * page);
    d.unmap();
    // The whole device off its HWPT (flags 0, argsz 8) with the cdev still open: the auto HWPT goes with the
    // detach, so the IOAS it held can be destroyed now (EBUSY while the device was attached to it).
    auto det = wire::vfio::device_detach_iommufd_pt();
    auto rdt = issue(d.fd.get(), det);
    check(rdt && det.size() == 8 && det.header().flags.bits() == 0,
          "[{}] VFIO_DEVICE_DETACH_IOMMUFD_PT (argsz {}, no PASID) ({})", d.tag, det.size(), text(rdt));
    auto rd = destroy(ifd, ioas);
    check(rd.has_value(), "[iommufd] IOMMU_DESTROY ioas {} once the device is detached, its cdev still open ({})", ioas,
          text(rd));
    d.fd.reset();  // unbinds
}

// ---- IOMMUFD_TEST's mock IOMMU: nested HWPT allocation and invalidation through real 7.3 iommufd code ----
// IOMMU_TEST_CMD and its payloads are not uapi (drivers/iommu/iommufd/iommufd_test.h, CONFIG_IOMMUFD_TEST), so
// vfiopp does not mirror them; only the command's mock_domain form is restated here (72 bytes, `last` at 64).
struct alignas(8) iommu_test_cmd_mock_domain {
    u32 size;
    u32 op;
    u32 id;
    u32 reserved;
    u32 out_stdev_id;
    u32 out_hwpt_id;
    u32 out_idev_id;
    std::array<u32, 11> rest;  // the rest of the union and `last`
};
static_assert(sizeof(iommu_test_cmd_mock_domain) == 72);
// Issued through io::submit as a request_like type of its own: it has no builder (vfiopp does not mirror it), and
// wire::prep<def>(struct) takes only mirrored structs (it finds the size field in the VFIOPP_LAYOUT field list).
struct iommu_test_cmd_req {
    static constexpr uapi::ioctl_def<iommu_test_cmd_mock_domain> ioctl{
        "IOMMU_TEST_CMD", uapi::io(uapi::iommufd_type, uapi::iommufd_cmd_base + 32), uapi::fd_kind::iommufd,
        uapi::arg_kind::inout, uapi::abi_kind::mainline, {uapi::returns::status, 0}};
    static constexpr uapi::return_spec ret = ioctl.ret;  // submit() yields result<void>
    iommu_test_cmd_mock_domain cmd{};
    void* ioctl_arg() { return &cmd; }
};
constexpr u32 iommu_test_op_mock_domain = 2;
constexpr u32 iommu_hwpt_data_selftest = 0xdead;               // hwpt_alloc data_type of the mock driver
constexpr u32 iommu_test_iotlb_default = 0xbadbeef;
constexpr u32 iommu_hwpt_invalidate_data_selftest = 0xdeadbeef;  // hwpt_invalidate data_type of the mock driver
constexpr u32 iommu_test_invalidate_flag_all = 1;
struct iommu_hwpt_selftest {
    u32 iotlb;
    u32 pagetable_type;
};
struct iommu_hwpt_invalidate_selftest {
    u32 flags;
    u32 iotlb_id;  // 0 .. 3 (MOCK_NESTED_DOMAIN_IOTLB_ID_MAX)
};

result<void> hwpt_invalidate_selftest(int ifd, u32 hwpt, std::span<const iommu_hwpt_invalidate_selftest> e, u32& entry_num) {
    // wire::iommufd::hwpt_invalidate takes only the vendor entry types (static_assert): the mock's type goes
    // through the generic prep()
    uapi::iommu_hwpt_invalidate h{};
    h.hwpt_id = hwpt;
    h.data_uptr = reinterpret_cast<std::uintptr_t>(e.data());
    h.data_type = static_cast<uapi::hwpt_invalidate_data_type>(iommu_hwpt_invalidate_data_selftest);
    h.entry_len = sizeof(iommu_hwpt_invalidate_selftest);
    h.entry_num = static_cast<u32>(e.size());
    auto req = wire::prep<uapi::iommufd::hwpt_invalidate>(h);
    auto r = io::submit(ifd, req);
    entry_num = req.header().entry_num;
    return r;
}

void test_mock_nesting() {
    fmt::print("==== IOMMUFD_TEST mock: nested HWPT and invalidation (vfiopp) ====\n");
    const unique_fd iommufd{open("/dev/iommu", O_RDWR | O_CLOEXEC)};
    const int ifd = iommufd.get();
    if (!check(ifd >= 0, "[mock] open /dev/iommu ({})", ifd >= 0 ? "ok" : std::strerror(errno))) return;
    auto alloc = wire::iommufd::ioas_alloc();
    auto ra = issue(ifd, alloc);
    const u32 ioas = alloc.header().out_ioas_id;
    iommu_test_cmd_req mock;
    mock.cmd.size = sizeof mock.cmd;
    mock.cmd.op = iommu_test_op_mock_domain;
    mock.cmd.id = ioas;
    auto rm = ra ? io::submit(ifd, mock) : result<void>(ra.error());
    const u32 idev = mock.cmd.out_idev_id, stdev = mock.cmd.out_stdev_id;
    if (!check(rm && idev != 0, "[mock] IOAS {} + IOMMU_TEST_CMD MOCK_DOMAIN: device {}, stdev {} ({})", ioas, idev, stdev,
               text(rm)))
        return;
    auto pa = wire::iommufd::hwpt_alloc(idev, ioas, uapi::hwpt_alloc_flag::nest_parent);
    auto rp = pa ? issue(ifd, *pa) : result<void>(pa.error());
    const u32 parent = pa ? pa->header().out_hwpt_id : 0;
    check(rp && parent != 0, "[mock] IOMMU_HWPT_ALLOC NEST_PARENT: hwpt {} ({})", parent, text(rp));

    // The nested HWPT with the mock driver's data: hwpt_alloc() takes only the vendor data types, so prep().
    iommu_hwpt_selftest data{iommu_test_iotlb_default, 0};
    uapi::iommu_hwpt_alloc na{};
    na.dev_id = idev;
    na.pt_id = parent;
    na.data_type = static_cast<uapi::hwpt_data_type>(iommu_hwpt_data_selftest);
    na.data_len = sizeof data;
    na.data_uptr = reinterpret_cast<std::uintptr_t>(&data);
    auto nreq = wire::prep<uapi::iommufd::hwpt_alloc>(na);
    auto rn = rp ? io::submit(ifd, nreq) : result<void>(rp.error());
    const u32 nested = nreq.header().out_hwpt_id;
    check(rn && nested != 0 && nested != parent, "[mock] IOMMU_HWPT_ALLOC nested (data_type 0xdead) on hwpt {}: hwpt {} ({})",
          parent, nested, text(rn));
    if (rn) {
        u32 done = 99;
        std::array<iommu_hwpt_invalidate_selftest, 1> one{{{0, 1}}};
        auto r0 = hwpt_invalidate_selftest(ifd, parent, one, done);
        check(kernel_refused(r0, EINVAL, "IOMMU_HWPT_INVALIDATE"), "[mock] HWPT_INVALIDATE on the parent refused: {}", text(r0));
        std::array<iommu_hwpt_invalidate_selftest, 2> two{{{0, 1}, {0, 4}}};  // iotlb_id 4 is past the mock's 3
        auto r1 = hwpt_invalidate_selftest(ifd, nested, two, done);
        check(kernel_refused(r1, EINVAL, "IOMMU_HWPT_INVALIDATE") && done == 1,
              "[mock] HWPT_INVALIDATE of 2 entries, the 2nd bad: entry_num written back {} ({})", done, text(r1));
        std::array<iommu_hwpt_invalidate_selftest, 1> all{{{iommu_test_invalidate_flag_all, 0}}};
        done = 99;
        auto r2 = hwpt_invalidate_selftest(ifd, nested, all, done);
        check(r2 && done == 1, "[mock] HWPT_INVALIDATE all: entry_num {} ({})", done, text(r2));
        auto busy = destroy(ifd, parent);
        check(kernel_refused(busy, EBUSY, "IOMMU_DESTROY"), "[mock] IOMMU_DESTROY of the parent under a nested HWPT: {}",
              text(busy));
        auto rd = destroy(ifd, nested);
        check(rd.has_value(), "[mock] IOMMU_DESTROY nested hwpt {} ({})", nested, text(rd));
    }
    if (rp) {
        auto rd = destroy(ifd, parent);
        check(rd.has_value(), "[mock] IOMMU_DESTROY parent hwpt {} ({})", parent, text(rd));
    }
    auto rs = destroy(ifd, stdev);
    check(rs.has_value(), "[mock] IOMMU_DESTROY mock device {} ({})", stdev, text(rs));
}

// ==== every builder of wire::builders on a real kernel ====
// The sections below issue each builder the sections above do not, on the fd it belongs to, and check the outcome:
// success where the testbed can answer, else the exact errno the kernel gives and why (so a change of behaviour
// fails the test). Every fd the kernel hands back is a unique_fd; every mapping and object made here is undone.

// An anonymous, populated mapping of n pages (the caller munmaps it).
std::uint8_t* map_pages(std::size_t n) {
    void* mem = mmap(nullptr, n * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (mem == MAP_FAILED) {
        std::perror("mmap");
        std::exit(2);
    }
    return static_cast<std::uint8_t*>(mem);
}

// Expected VFIO_CHECK_EXTENSION answers of a TYPE1v2 container holding the two edu groups (no mdev).
int expected_extension(uapi::extension e) {
    switch (e) {
        case uapi::extension::type1_iommu:
        case uapi::extension::type1v2_iommu:
        case uapi::extension::unmap_all:
            return 1;
        case uapi::extension::update_vaddr:
            return 1;  // type1 offers it while no mdev (emulated IOMMU group) is in the container
        case uapi::extension::reserved_type1_nesting_iommu:
            return kernel_73 ? 0 : 1;  // 6.1's type1 still answered VFIO_TYPE1_NESTING_IOMMU; 6.13 removed it
        default:
            return 0;  // dma_cc: QEMU's VT-d without snoop-control has no ECAP.SC; noiommu: not asked of type1
    }
}

// The container-level builders not issued by test_type1: every extension, ENABLE/DISABLE, dirty tracking,
// UNMAP_DMA with a dirty bitmap, with VADDR and with ALL, MAP_DMA with VADDR.
void walk_type1_container(int cfd) {
    fmt::print("==== builders: type1 container ====\n");
    for (const auto& e : uapi::enum_entries<uapi::extension>) {
        auto r = issue(cfd, wire::vfio::check_extension(e.value));
        const int want = expected_extension(e.value);
        check(r && *r == want, "[builders] wire::vfio::check_extension({}) VFIO_CHECK_EXTENSION({}) on the TYPE1v2 container: {} (expected {}) ({})",
              e.name, static_cast<u32>(e.value), r ? *r : -1, want, text(r));
    }
    {
        auto r = issue(cfd, wire::vfio::iommu_enable());
        expect_refusal(r, ENOTTY, "VFIO_IOMMU_ENABLE", "[builders] wire::vfio::iommu_enable VFIO_IOMMU_ENABLE (no argument)",
                       "SPAPR TCE only; the container hands it to type1, whose ioctl does not know it");
        auto r2 = issue(cfd, wire::vfio::iommu_disable());
        expect_refusal(r2, ENOTTY, "VFIO_IOMMU_DISABLE", "[builders] wire::vfio::iommu_disable VFIO_IOMMU_DISABLE (no argument)",
                       "SPAPR TCE only; type1 does not know it");
    }

    // Dirty page tracking: type1 tracks in software; pages of an IOMMU-backed (not pinned-scope) group are all
    // reported dirty while tracking is on.
    constexpr u64 dirty_iova = 0x400000;
    std::uint8_t* mem = map_pages(3);
    const auto rw = uapi::map_dma_flag::read | uapi::map_dma_flag::write;
    auto m = wire::vfio::iommu_map_dma(reinterpret_cast<std::uintptr_t>(mem), dirty_iova, 2 * page, rw);
    auto rm = m ? issue(cfd, *m) : result<void>(m.error());
    check(rm.has_value(), "[builders] MAP_DMA 8 KiB at iova {:#x} for dirty tracking ({})", dirty_iova, text(rm));
    {
        std::array<u64, 1> bits{};
        auto g = wire::vfio::iommu_dirty_pages_get_bitmap(dirty_iova, 2 * page, page, std::span(bits));
        auto r = g ? issue(cfd, *g) : result<void>(g.error());
        expect_refusal(r, EINVAL, "VFIO_IOMMU_DIRTY_PAGES",
                       fmt::format("[builders] wire::vfio::iommu_dirty_pages_get_bitmap VFIO_IOMMU_DIRTY_PAGES GET_BITMAP (argsz {}) before START",
                                   g ? g->size() : 0),
                       "dirty tracking is not started");
    }
    auto start = wire::vfio::iommu_dirty_pages_start();
    auto rs = issue(cfd, start);
    check(rs && start.size() == 8, "[builders] wire::vfio::iommu_dirty_pages_start VFIO_IOMMU_DIRTY_PAGES START (argsz {}) ({})",
          start.size(), text(rs));
    if (rs && rm) {
        std::array<u64, 1> bits{};
        auto g = wire::vfio::iommu_dirty_pages_get_bitmap(dirty_iova, 2 * page, page, std::span(bits));
        auto r = g ? issue(cfd, *g) : result<void>(g.error());
        check(r && g->size() == 48 && bits[0] == 0x3,
              "[builders] wire::vfio::iommu_dirty_pages_get_bitmap VFIO_IOMMU_DIRTY_PAGES GET_BITMAP (argsz {}) of 2 pages: bitmap {:#x} ({})",
              g ? g->size() : 0, bits[0], text(r));
        std::array<u64, 1> ubits{};
        auto u = wire::vfio::iommu_unmap_dma_dirty(dirty_iova, 2 * page, page, std::span(ubits));
        auto ru = u ? issue(cfd, *u) : result<void>(u.error());
        const u64 unmapped = u ? u->header().size : 0;
        check(ru && u->size() == 48 && unmapped == 2 * page && ubits[0] == 0x3 &&
                  u->header().flags == uapi::unmap_dma_flag::get_dirty_bitmap,
              "[builders] wire::vfio::iommu_unmap_dma_dirty VFIO_IOMMU_UNMAP_DMA GET_DIRTY_BITMAP (argsz {}): {} bytes, bitmap {:#x} ({})",
              u ? u->size() : 0, unmapped, ubits[0], text(ru));
        if (!ru) {  // leave nothing mapped
            auto c = wire::vfio::iommu_unmap_dma(dirty_iova, 2 * page);
            (void)(c ? issue(cfd, *c) : result<void>(c.error()));
        }
    }
    auto stop = wire::vfio::iommu_dirty_pages_stop();
    auto rp = issue(cfd, stop);
    check(rp && stop.size() == 8, "[builders] wire::vfio::iommu_dirty_pages_stop VFIO_IOMMU_DIRTY_PAGES STOP (argsz {}) ({})",
          stop.size(), text(rp));

    // UPDATE_VADDR: invalidate the vaddr of a mapping, then supply it again with MAP_DMA flags VADDR.
    constexpr u64 vaddr_iova = 0x410000;
    std::uint8_t* vpage = mem + 2 * page;
    auto mv = wire::vfio::iommu_map_dma(reinterpret_cast<std::uintptr_t>(vpage), vaddr_iova, page, rw);
    auto rmv = mv ? issue(cfd, *mv) : result<void>(mv.error());
    check(rmv.has_value(), "[builders] MAP_DMA 4 KiB at iova {:#x} for UPDATE_VADDR ({})", vaddr_iova, text(rmv));
    {
        auto u = wire::vfio::iommu_unmap_vaddr(vaddr_iova, page);
        auto r = u ? issue(cfd, *u) : result<void>(u.error());
        check(r && u->size() == 24 && u->header().flags == uapi::unmap_dma_flag::vaddr && u->header().size == page,
              "[builders] wire::vfio::iommu_unmap_vaddr VFIO_IOMMU_UNMAP_DMA VADDR (argsz {}): {} bytes invalidated ({})",
              u ? u->size() : 0, u ? u->header().size : 0, text(r));
        auto again = wire::vfio::iommu_map_dma(reinterpret_cast<std::uintptr_t>(vpage), vaddr_iova, page, uapi::map_dma_flag::vaddr);
        auto ra = again ? issue(cfd, *again) : result<void>(again.error());
        check(ra && again->header().flags == uapi::map_dma_flag::vaddr,
              "[builders] wire::vfio::iommu_map_dma(flags VADDR) VFIO_IOMMU_MAP_DMA re-supplies the vaddr of iova {:#x} ({})",
              vaddr_iova, text(ra));
    }
    // UNMAP_ALL: the UPDATE_VADDR page and two more.
    std::uint8_t* two = map_pages(2);
    for (u64 i = 0; i < 2; i++) {
        auto mm = wire::vfio::iommu_map_dma(reinterpret_cast<std::uintptr_t>(two + i * page), 0x420000 + i * 0x10000, page, rw);
        auto r = mm ? issue(cfd, *mm) : result<void>(mm.error());
        check(r.has_value(), "[builders] MAP_DMA 4 KiB at iova {:#x} ({})", 0x420000 + i * 0x10000, text(r));
    }
    auto all = wire::vfio::iommu_unmap_all();
    auto rall = issue(cfd, all);
    check(rall && all.size() == 24 && all.header().flags == uapi::unmap_dma_flag::all && all.header().size == 3 * page,
          "[builders] wire::vfio::iommu_unmap_all VFIO_IOMMU_UNMAP_DMA ALL (argsz {}): {} bytes, every mapping left ({})",
          all.size(), all.header().size, text(rall));
    munmap(two, 2 * page);
    munmap(mem, 3 * page);
}

// The device-level builders not issued above, on an opened edu (BAR0 mapped, bus master on): IRQ info of every
// index, INTx through every SET_IRQS form, reset, hot reset (info, group and devid forms), ioeventfd, every
// device feature, the gfx ioctls, MIG_GET_PRECOPY_INFO, and (6.1) the cdev ioctls. group_fd: the device's group
// (type1 path) or -1 (cdev path).
void walk_device(edu_dev& d, int group_fd) {
    const bool cdev = group_fd < 0;
    fmt::print("==== builders: device {} ====\n", d.tag);
    const int dfd = d.fd.get();
    if (!check(d.bar != nullptr, "[{}] BAR0 is mapped for the device walk", d.tag)) return;

    // GET_IRQ_INFO of every index (TESTBED.md: INTx 1 (EVENTFD|MASKABLE|AUTOMASKED), MSI 1, MSI-X 0, REQ 1).
    using uapi::irq_info_flag;
    struct want_irq {
        uapi::pci_irq_index index;
        u32 count;
        uapi::bitmask<irq_info_flag> flags;
    };
    const want_irq irqs[] = {
        {uapi::pci_irq_index::intx, 1, irq_info_flag::eventfd | irq_info_flag::maskable | irq_info_flag::automasked},
        {uapi::pci_irq_index::msi, 1, irq_info_flag::eventfd | irq_info_flag::noresize},
        {uapi::pci_irq_index::msix, 0, irq_info_flag::eventfd | irq_info_flag::noresize},
        // ERR: 7.3 reports the index (count 1) for every device; 6.1 only for PCIe devices (below)
        {uapi::pci_irq_index::err, 1, irq_info_flag::eventfd | irq_info_flag::noresize},
        {uapi::pci_irq_index::req, 1, irq_info_flag::eventfd | irq_info_flag::noresize},
    };
    for (const auto& w : irqs) {
        auto req = wire::vfio::device_get_irq_info(w.index);
        auto r = issue(dfd, req);
        if (w.index == uapi::pci_irq_index::err && !kernel_73) {
            expect_refusal(r, EINVAL, "VFIO_DEVICE_GET_IRQ_INFO",
                           fmt::format("[{}] wire::vfio::device_get_irq_info(err) VFIO_DEVICE_GET_IRQ_INFO (argsz {})", d.tag, req.size()),
                           "6.1's vfio-pci offers the ERR index only on PCIe devices; edu is conventional PCI");
            continue;
        }
        auto h = req.header();
        check(r && req.size() == 16 && h.index == static_cast<u32>(w.index) && h.count == w.count && h.flags == w.flags,
              "[{}] wire::vfio::device_get_irq_info({}) VFIO_DEVICE_GET_IRQ_INFO (argsz {}): count {}, flags {:#x} (expected {}, {:#x}) ({})",
              d.tag, uapi::enum_name(w.index).value_or("?"), req.size(), h.count, h.flags.bits(), w.count, w.flags.bits(), text(r));
    }

    // INTx: trigger through an eventfd, raised by edu; automasked, unmasked with DATA_BOOL; a DATA_BOOL trigger
    // (loopback: the kernel signals the eventfd itself); mask/unmask with DATA_NONE; unmask through an eventfd.
    {
        const unique_fd trig{eventfd(0, EFD_CLOEXEC)};
        const unique_fd unmask{eventfd(0, EFD_CLOEXEC)};
        wire::vfio::set_irqs_request<1> on;
        const int fds[] = {trig.get()};
        auto b = wire::vfio::set_irqs_eventfds<wire::vfio::irq_trigger>(on, uapi::pci_irq_index::intx, 0, std::span(fds));
        auto r = b ? issue(dfd, on) : result<void>(b.error());
        if (check(r && on.size() == 24, "[{}] wire::vfio::set_irqs_eventfds<irq_trigger>(intx) VFIO_DEVICE_SET_IRQS (argsz {}) ({})",
                  d.tag, on.size(), text(r))) {
            wr32(d.bar, edu_irq_raise, 0x2);
            bool got = wait_eventfd(trig.get(), 2000);
            u32 st = rd32(d.bar, edu_irq_status);
            wr32(d.bar, edu_irq_ack, st);
            check(got && st == 0x2, "[{}] INTx observed on the eventfd: irq status {:#x}", d.tag, st);

            wire::vfio::set_irqs_request<1> um;
            const bool yes[] = {true};
            auto bu = wire::vfio::set_irqs_bools<wire::vfio::irq_unmask>(um, uapi::pci_irq_index::intx, 0, std::span(yes));
            auto ru = bu ? issue(dfd, um) : result<void>(bu.error());
            check(ru && um.size() == 21 && um.header().flags == (uapi::irq_set_flag::data_bool | uapi::irq_set_flag::action_unmask),
                  "[{}] wire::vfio::set_irqs_bools<irq_unmask>(intx, {{true}}) VFIO_DEVICE_SET_IRQS (argsz {}) after the automask ({})",
                  d.tag, um.size(), text(ru));
            wr32(d.bar, edu_irq_raise, 0x4);
            got = wait_eventfd(trig.get(), 2000);
            st = rd32(d.bar, edu_irq_status);
            wr32(d.bar, edu_irq_ack, st);
            check(got && st == 0x4, "[{}] second INTx after the DATA_BOOL unmask: irq status {:#x}", d.tag, st);
            (void)issue(dfd, wire::vfio::set_irqs_none<wire::vfio::irq_unmask>(uapi::pci_irq_index::intx, 0, 1));

            wire::vfio::set_irqs_request<1> lb;
            auto bl = wire::vfio::set_irqs_bools<wire::vfio::irq_trigger>(lb, uapi::pci_irq_index::intx, 0, std::span(yes));
            auto rl = bl ? issue(dfd, lb) : result<void>(bl.error());
            bool fired = rl && wait_eventfd(trig.get(), 2000);
            check(fired, "[{}] wire::vfio::set_irqs_bools<irq_trigger>(intx, {{true}}) VFIO_DEVICE_SET_IRQS (argsz {}): the kernel signalled the eventfd ({})",
                  d.tag, lb.size(), text(rl));

            auto mk = wire::vfio::set_irqs_none<wire::vfio::irq_mask>(uapi::pci_irq_index::intx, 0, 1);
            auto rmk = issue(dfd, mk);
            check(rmk && mk.size() == 20, "[{}] wire::vfio::set_irqs_none<irq_mask>(intx) VFIO_DEVICE_SET_IRQS (argsz {}) ({})",
                  d.tag, mk.size(), text(rmk));
            auto un = wire::vfio::set_irqs_none<wire::vfio::irq_unmask>(uapi::pci_irq_index::intx, 0, 1);
            auto run = issue(dfd, un);
            check(run.has_value(), "[{}] wire::vfio::set_irqs_none<irq_unmask>(intx) VFIO_DEVICE_SET_IRQS (argsz {}) ({})", d.tag,
                  un.size(), text(run));

            wire::vfio::set_irqs_request<1> ue;
            const int ufds[] = {unmask.get()};
            auto be = wire::vfio::set_irqs_eventfds<wire::vfio::irq_unmask>(ue, uapi::pci_irq_index::intx, 0, std::span(ufds));
            auto re = be ? issue(dfd, ue) : result<void>(be.error());
            check(re.has_value(), "[{}] wire::vfio::set_irqs_eventfds<irq_unmask>(intx, unmask eventfd) VFIO_DEVICE_SET_IRQS (argsz {}) ({})",
                  d.tag, ue.size(), text(re));
            wire::vfio::set_irqs_request<1> ud;
            const int none[] = {-1};
            auto bd = wire::vfio::set_irqs_eventfds<wire::vfio::irq_unmask>(ud, uapi::pci_irq_index::intx, 0, std::span(none));
            auto rd = bd ? issue(dfd, ud) : result<void>(bd.error());
            check(rd.has_value(), "[{}] set_irqs_eventfds<irq_unmask>(intx, {{-1}}) removes the unmask eventfd ({})", d.tag, text(rd));
            auto off = wire::vfio::set_irqs_none<wire::vfio::irq_trigger>(uapi::pci_irq_index::intx, 0, 0);
            auto ro = issue(dfd, off);
            check(ro.has_value(), "[{}] set_irqs_none<irq_trigger>(intx, count 0) disables INTx ({})", d.tag, text(ro));
        }
    }

    // Reset: edu has no FLR, no PM reset, and sits on the root bus (no slot or bus reset).
    expect_refusal(issue(dfd, wire::vfio::device_reset()), EINVAL, "VFIO_DEVICE_RESET",
                   fmt::format("[{}] wire::vfio::device_reset VFIO_DEVICE_RESET", d.tag),
                   "edu has no reset method (no FLR, no PM reset, root bus), so vfio-pci's reset_works is false");
    {
        auto hi = wire::vfio::device_get_pci_hot_reset_info<4>();
        expect_refusal(issue(dfd, hi), ENODEV, "VFIO_DEVICE_GET_PCI_HOT_RESET_INFO",
                       fmt::format("[{}] wire::vfio::device_get_pci_hot_reset_info<4> VFIO_DEVICE_GET_PCI_HOT_RESET_INFO (argsz {})", d.tag, hi.size()),
                       "edu sits on the root bus: neither a slot nor a bus reset is possible");
    }
    {
        // the group form: on a group-opened device the kernel probes the reset first (ENODEV); on a cdev-opened
        // device 7.3 refuses any group fd array first (EINVAL: the devid form is for cdevs). The fd passed on the
        // cdev path is the device's own (the kernel never reads it).
        wire::vfio::pci_hot_reset_request<1> hr;
        const int gfds[] = {cdev ? dfd : group_fd};
        auto b = wire::vfio::pci_hot_reset_groups(hr, std::span(gfds));
        auto r = b ? issue(dfd, hr) : result<void>(b.error());
        const std::string what = fmt::format("[{}] wire::vfio::pci_hot_reset_groups VFIO_DEVICE_PCI_HOT_RESET (argsz {}, 1 group fd)", d.tag, hr.size());
        if (cdev)
            expect_refusal(r, EINVAL, "VFIO_DEVICE_PCI_HOT_RESET", what, "a cdev-opened device takes only the zero-length (devid) form");
        else
            expect_refusal(r, ENODEV, "VFIO_DEVICE_PCI_HOT_RESET", what, "edu sits on the root bus: no slot or bus reset");
        auto dv = wire::vfio::pci_hot_reset_devid();
        auto rv = issue(dfd, dv);
        const std::string whatv = fmt::format("[{}] wire::vfio::pci_hot_reset_devid VFIO_DEVICE_PCI_HOT_RESET (argsz {}, count 0)", d.tag, dv.size());
        if (cdev || !kernel_73)
            expect_refusal(rv, ENODEV, "VFIO_DEVICE_PCI_HOT_RESET", whatv,
                           cdev ? "edu sits on the root bus: no slot or bus reset"
                                : "6.1 has no devid form and probes the reset first: edu sits on the root bus");
        else
            expect_refusal(rv, EINVAL, "VFIO_DEVICE_PCI_HOT_RESET", whatv,
                           "the zero-length (devid) form is only for cdev-opened devices; this one came from its group");
    }

    // IOEVENTFD: a 32-bit write of `data` to BAR0's liveness register when the eventfd fires; edu's liveness
    // register reads back the complement of what was written.
    {
        const unique_fd efd{eventfd(0, EFD_CLOEXEC)};
        const u64 off = d.bar0_off + edu_liveness;
        constexpr u32 data = 0x5a5a0f0f;
        auto add = wire::vfio::device_ioeventfd<u32>(off, data, efd.get());
        auto ra = add ? issue(dfd, *add) : result<void>(add.error());
        check(ra && add->size() == 32 && add->header().flags == uapi::ioeventfd_flag::bits32,
              "[{}] wire::vfio::device_ioeventfd<u32>(BAR0 + {:#x}, {:#x}, eventfd) VFIO_DEVICE_IOEVENTFD (argsz {}) ({})", d.tag,
              static_cast<u32>(edu_liveness), data, add ? add->size() : 0, text(ra));
        if (ra) {
            wr32(d.bar, edu_liveness, 0);
            const u64 one = 1;
            bool w = write(efd.get(), &one, sizeof one) == static_cast<ssize_t>(sizeof one);
            u32 live = 0;
            for (double t0 = now_s(); now_s() - t0 < 2.0; usleep(1000))
                if ((live = rd32(d.bar, edu_liveness)) == ~data) break;
            check(w && live == ~data, "[{}] the ioeventfd wrote {:#x} into BAR0: liveness reads {:#010x}", d.tag, data, live);
            auto dup = wire::vfio::device_ioeventfd<u32>(off, data, efd.get());
            expect_refusal(dup ? issue(dfd, *dup) : result<void>(dup.error()), EEXIST, "VFIO_DEVICE_IOEVENTFD",
                           fmt::format("[{}] the same ioeventfd again", d.tag), "one ioeventfd per (BAR, offset, width, data)");
            auto del = wire::vfio::device_ioeventfd<u32>(off, data, -1);
            auto rd = del ? issue(dfd, *del) : result<void>(del.error());
            check(rd && del->header().fd == -1, "[{}] wire::vfio::device_ioeventfd<u32>(fd -1) removes it ({})", d.tag, text(rd));
            auto del2 = wire::vfio::device_ioeventfd<u32>(off, data, -1);
            expect_refusal(del2 ? issue(dfd, *del2) : result<void>(del2.error()), ENODEV, "VFIO_DEVICE_IOEVENTFD",
                           fmt::format("[{}] removing it twice", d.tag), "no ioeventfd matches any more");
        }
    }

    // VFIO_DEVICE_FEATURE: PROBE of every payload the library knows (argsz 8), a GET and a SET.
    {
        const std::string_view no_mig = "vfio-pci drives edu without a migration driver (no mig_ops)";
        const std::string_view no_log = kernel_73 ? "no DMA logging driver (no log_ops)" : "6.1's core does not know the DMA logging features; vfio-pci answers unknown ones ENOTTY";
        auto probe = [&](auto tag, std::string_view name, int want, std::string_view why) {
            using P = decltype(tag);
            auto req = wire::vfio::feature_probe<P>();
            auto r = issue(dfd, req);
            const std::string what = fmt::format("[{}] wire::vfio::feature_probe<{}> VFIO_DEVICE_FEATURE PROBE (argsz {}, flags {:#x})",
                                                 d.tag, name, req.size(), req.header().flags.bits());
            if (want == 0)
                check(r && req.size() == 8, "{}: supported ({}) ({})", what, why, text(r));
            else
                expect_refusal(r, want, "VFIO_DEVICE_FEATURE", what, why);
        };
        probe(wire::vfio::pci_vf_token{}, "pci_vf_token", ENOTTY, "edu is no SR-IOV PF: vfio-pci has no VF token for it");
        probe(uapi::vfio_device_feature_migration{}, "migration", ENOTTY, no_mig);
        probe(uapi::vfio_device_feature_mig_state{}, "mig_device_state", ENOTTY, no_mig);
        probe(wire::vfio::low_power_entry{}, "low_power_entry", 0, "vfio-pci implements runtime low power for every device");
        probe(uapi::vfio_device_low_power_entry_with_wakeup{}, "low_power_entry_with_wakeup", 0, "vfio-pci, every device");
        probe(wire::vfio::low_power_exit{}, "low_power_exit", 0, "vfio-pci, every device");
        probe(uapi::vfio_device_feature_dma_logging_control{}, "dma_logging_start", ENOTTY, no_log);
        probe(wire::vfio::dma_logging_stop{}, "dma_logging_stop", ENOTTY, no_log);
        probe(uapi::vfio_device_feature_dma_logging_report{}, "dma_logging_report", ENOTTY, no_log);
        probe(uapi::vfio_device_feature_mig_data_size{}, "mig_data_size", ENOTTY,
              kernel_73 ? no_mig : std::string_view("6.1 predates MIG_DATA_SIZE (6.2); vfio-pci answers unknown features ENOTTY"));
        probe(uapi::vfio_device_feature_bus_master{}, "bus_master", ENOTTY, "only vfio-cdx implements BUS_MASTER; vfio-pci answers ENOTTY");
        probe(uapi::vfio_device_feature_dma_buf{}, "dma_buf", kernel_73 ? 0 : ENOTTY,
              kernel_73 ? "the 7.3 kernel has CONFIG_VFIO_PCI_DMABUF (PCI_P2PDMA): vfio-pci exports BAR ranges"
                        : "6.1 predates DMA_BUF (7.0); vfio-pci answers unknown features ENOTTY");
        auto get = wire::vfio::feature_get<uapi::vfio_device_feature_migration>();
        expect_refusal(issue(dfd, get), ENOTTY, "VFIO_DEVICE_FEATURE",
                       fmt::format("[{}] wire::vfio::feature_get<migration> VFIO_DEVICE_FEATURE GET (argsz {})", d.tag, get.size()), no_mig);
        auto set = wire::vfio::feature_set(wire::vfio::low_power_exit{});
        auto rs = issue(dfd, set);
        check(rs && set.size() == 8, "[{}] wire::vfio::feature_set(low_power_exit) VFIO_DEVICE_FEATURE SET (argsz {}): a no-op out of low power ({})",
              d.tag, set.size(), text(rs));
    }

    // The gfx ioctls: only mdev display drivers (i915 GVT-g, mbochs, mdpy) implement them.
    {
        auto q = wire::vfio::device_query_gfx_plane(uapi::gfx_plane_flag::probe | uapi::gfx_plane_flag::dmabuf, 1);
        auto r = q ? issue(dfd, *q) : result<void>(q.error());
        expect_refusal(r, ENOTTY, "VFIO_DEVICE_QUERY_GFX_PLANE",
                       fmt::format("[{}] wire::vfio::device_query_gfx_plane(probe|dmabuf, primary) VFIO_DEVICE_QUERY_GFX_PLANE (argsz {})",
                                   d.tag, q ? q->size() : 0),
                       "vfio-pci has no display: only mdev display drivers answer it");
        auto g = wire::vfio::device_get_gfx_dmabuf(0);
        expect_refusal(issue(dfd, g), ENOTTY, "VFIO_DEVICE_GET_GFX_DMABUF",
                       fmt::format("[{}] wire::vfio::device_get_gfx_dmabuf(0) VFIO_DEVICE_GET_GFX_DMABUF (argsz {})", d.tag, g.size()),
                       "vfio-pci has no display: only mdev display drivers answer it");
    }
    // MIG_GET_PRECOPY_INFO belongs on a migration data fd (walk_mtty issues it there); edu has none, and its
    // device fd does not know the ioctl.
    {
        auto p = wire::vfio::mig_get_precopy_info();
        expect_refusal(issue(dfd, p), ENOTTY, "VFIO_MIG_GET_PRECOPY_INFO",
                       fmt::format("[{}] wire::vfio::mig_get_precopy_info VFIO_MIG_GET_PRECOPY_INFO (argsz {}) on the device fd", d.tag, p.size()),
                       "edu has no migration data fd; vfio-pci's device ioctl does not know it");
    }
    // 6.1 has no VFIO cdev: the cdev ioctls are unknown to its device fds.
    if (!kernel_73 && !cdev) {
        auto b = wire::vfio::device_bind_iommufd(group_fd);  // any fd: the kernel never reads it
        expect_refusal(b ? issue(dfd, *b) : result<void>(b.error()), ENOTTY, "VFIO_DEVICE_BIND_IOMMUFD",
                       fmt::format("[{}] wire::vfio::device_bind_iommufd VFIO_DEVICE_BIND_IOMMUFD (argsz {})", d.tag, b ? b->size() : 0),
                       "6.1 has no VFIO cdev (6.6): vfio-pci does not know the ioctl");
        auto a = wire::vfio::device_attach_iommufd_pt(1);
        expect_refusal(issue(dfd, a), ENOTTY, "VFIO_DEVICE_ATTACH_IOMMUFD_PT",
                       fmt::format("[{}] wire::vfio::device_attach_iommufd_pt VFIO_DEVICE_ATTACH_IOMMUFD_PT (argsz {})", d.tag, a.size()),
                       "6.1 has no VFIO cdev: vfio-pci does not know the ioctl");
        auto t = wire::vfio::device_detach_iommufd_pt();
        expect_refusal(issue(dfd, t), ENOTTY, "VFIO_DEVICE_DETACH_IOMMUFD_PT",
                       fmt::format("[{}] wire::vfio::device_detach_iommufd_pt VFIO_DEVICE_DETACH_IOMMUFD_PT (argsz {})", d.tag, t.size()),
                       "6.1 has no VFIO cdev: vfio-pci does not know the ioctl");
    }
}

// edu[0] again through its group (both kernels): the device-level walk on the type1 path.
void walk_type1_device(const std::vector<std::string>& edu, type1_state& st) {
    if (edu.empty() || st.groups.empty() || !st.groups[0]) return;
    edu_dev d;
    d.tag = "builders type1 " + edu[0];
    auto get = wire::vfio::group_get_device_fd(edu[0]);
    auto fd = get ? issue(st.groups[0].get(), *get) : result<unique_fd>(get.error());
    if (!check(fd && *fd, "[{}] VFIO_GROUP_GET_DEVICE_FD: fd {} ({})", d.tag, fd ? fd->get() : -1, text(fd))) return;
    d.fd = std::move(*fd);
    if (edu_open(d)) walk_device(d, st.groups[0].get());
}

// result<u32> of an object-allocating request: the id at `field`.
template <typename Req, typename F>
result<u32> alloc_id(int ifd, Req& req, F field) {
    if (auto r = issue(ifd, req); !r) return r.error();
    return req.header().*field;
}

// The iommufd builders not issued by test_iommufd, on a fresh /dev/iommu with edu[1]'s cdev.
void walk_iommufd(const std::vector<std::string>& edu, const std::vector<std::string>& cdevs) {
    fmt::print("==== builders: iommufd ====\n");
    if (!check(cdevs.size() >= 2 && edu.size() >= 2, "[builders] a second edu cdev for the iommufd walk ({})", cdevs.size())) return;
    // IOMMU_OPTION RLIMIT_MODE: the accounting mode of a context, settable only while it holds no objects.
    {
        const unique_fd fresh{open("/dev/iommu", O_RDWR | O_CLOEXEC)};
        auto g = wire::iommufd::option_get(uapi::iommufd_option::rlimit_mode);
        auto rg = issue(fresh.get(), g);
        check(rg && g.size() == 24 && g.header().val64 == 0,
              "[builders] wire::iommufd::option_get(rlimit_mode) IOMMU_OPTION GET (size {}): {} (per-user accounting) ({})", g.size(),
              g.header().val64, text(rg));
        auto s = wire::iommufd::option_set(uapi::iommufd_option::rlimit_mode, 1);
        auto rs = issue(fresh.get(), s);
        auto g2 = wire::iommufd::option_get(uapi::iommufd_option::rlimit_mode);
        auto rg2 = issue(fresh.get(), g2);
        check(rs && rg2 && g2.header().val64 == 1,
              "[builders] wire::iommufd::option_set(rlimit_mode, 1) IOMMU_OPTION SET on an empty context, read back {} ({}, {})",
              g2.header().val64, text(rs), text(rg2));
        auto a = wire::iommufd::ioas_alloc();
        auto id = alloc_id(fresh.get(), a, &uapi::iommu_ioas_alloc::out_ioas_id);
        auto busy = issue(fresh.get(), wire::iommufd::option_set(uapi::iommufd_option::rlimit_mode, 0));
        expect_refusal(busy, EBUSY, "IOMMU_OPTION", "[builders] option_set(rlimit_mode, 0) IOMMU_OPTION SET with an IOAS allocated",
                       "the accounting mode changes only while the context holds no objects");
        if (id) (void)destroy(fresh.get(), *id);
    }

    const unique_fd iommufd{open("/dev/iommu", O_RDWR | O_CLOEXEC)};
    const int ifd = iommufd.get();
    if (!check(ifd >= 0, "[builders] open /dev/iommu ({})", ifd >= 0 ? "ok" : std::strerror(errno))) return;

    // IOMMU_VFIO_IOAS: the compat IOAS of the context (none until set).
    auto aa = wire::iommufd::ioas_alloc();
    auto ioas_a = alloc_id(ifd, aa, &uapi::iommu_ioas_alloc::out_ioas_id);
    auto ab = wire::iommufd::ioas_alloc();
    auto ioas_b = alloc_id(ifd, ab, &uapi::iommu_ioas_alloc::out_ioas_id);
    if (!check(ioas_a && ioas_b, "[builders] IOMMU_IOAS_ALLOC twice: ioas {} and {} ({}, {})", ioas_a ? *ioas_a : 0,
               ioas_b ? *ioas_b : 0, text(ioas_a), text(ioas_b)))
        return;
    const u32 A = *ioas_a, B = *ioas_b;
    {
        auto g = wire::iommufd::vfio_ioas_get();
        expect_refusal(issue(ifd, g), ENODEV, "IOMMU_VFIO_IOAS",
                       fmt::format("[builders] wire::iommufd::vfio_ioas_get IOMMU_VFIO_IOAS GET (size {}) before any SET", g.size()),
                       "the context has no compat IOAS yet");
        auto rs = issue(ifd, wire::iommufd::vfio_ioas_set(A));
        auto g2 = wire::iommufd::vfio_ioas_get();
        auto rg = issue(ifd, g2);
        check(rs && rg && g2.header().ioas_id == A,
              "[builders] wire::iommufd::vfio_ioas_set({}) then vfio_ioas_get IOMMU_VFIO_IOAS: ioas {} ({}, {})", A,
              g2.header().ioas_id, text(rs), text(rg));
        auto rc = issue(ifd, wire::iommufd::vfio_ioas_clear());
        auto g3 = wire::iommufd::vfio_ioas_get();
        auto rg3 = issue(ifd, g3);
        check(rc && kernel_refused(rg3, ENODEV, "IOMMU_VFIO_IOAS"),
              "[builders] wire::iommufd::vfio_ioas_clear IOMMU_VFIO_IOAS CLEAR, then GET is ENODEV again ({}, {})", text(rc), text(rg3));
    }
    // IOMMU_OPTION HUGE_PAGES of an IOAS (settable while it has no domain with mappings).
    {
        auto g = wire::iommufd::option_get(uapi::iommufd_option::huge_pages, A);
        auto rg = issue(ifd, g);
        auto rs = issue(ifd, wire::iommufd::option_set(uapi::iommufd_option::huge_pages, 0, A));
        auto g2 = wire::iommufd::option_get(uapi::iommufd_option::huge_pages, A);
        auto rg2 = issue(ifd, g2);
        auto rb = issue(ifd, wire::iommufd::option_set(uapi::iommufd_option::huge_pages, 1, A));
        check(rg && g.header().val64 == 1 && rs && rg2 && g2.header().val64 == 0 && rb,
              "[builders] option_get/option_set(huge_pages, ioas {}) IOMMU_OPTION: {} -> set 0 -> {} -> set 1 ({}, {}, {}, {})", A,
              g.header().val64, g2.header().val64, text(rg), text(rs), text(rg2), text(rb));
    }

    edu_dev d;
    d.tag = "builders iommufd " + edu[1];
    d.fd.reset(open(cdevs[1].c_str(), O_RDWR | O_CLOEXEC));
    auto bind = wire::vfio::device_bind_iommufd(ifd);
    auto rb = d.fd && bind ? issue(d.fd.get(), *bind) : result<void>(error{"open", {}, errno, {}, error_origin::library});
    const u32 devid = bind ? bind->header().out_devid : 0;
    if (!check(rb && devid != 0, "[{}] open {} and VFIO_DEVICE_BIND_IOMMUFD: devid {} ({})", d.tag, cdevs[1], devid, text(rb))) {
        (void)destroy(ifd, A), (void)destroy(ifd, B);
        return;
    }
    auto at = attach(d, A);
    check(at.has_value(), "[{}] ATTACH_IOMMUFD_PT to ioas {}: hwpt {} ({})", d.tag, A, at ? *at : 0, text(at));

    // ALLOW_IOVAS restricts where the kernel places a mapping made without an IOVA (IOVA_RANGES keeps reporting
    // the holes of the reserved ranges); an empty list lifts the restriction.
    {
        const std::array<uapi::iommu_iova_range, 1> allow{{{0x1000000, 0x1ffffff}}};
        auto req = wire::iommufd::ioas_allow_iovas(A, std::span(allow));
        auto r = req ? issue(ifd, *req) : result<void>(req.error());
        std::uint8_t* one = map_pages(1);
        auto mp = wire::iommufd::ioas_map(A, reinterpret_cast<std::uintptr_t>(one), page, uapi::ioas_map_flag::readable);
        auto rm = mp ? issue(ifd, *mp) : result<void>(mp.error());
        const u64 placed = mp ? mp->header().iova : 0;
        check(r && req->size() == 24 && rm && placed >= 0x1000000 && placed + page - 1 <= 0x1ffffff,
              "[builders] wire::iommufd::ioas_allow_iovas(ioas {}, [0x1000000, 0x1ffffff]) IOMMU_IOAS_ALLOW_IOVAS (size {}): an IOAS_MAP "
              "without iova lands at {:#x} ({}, {})",
              A, req ? req->size() : 0, placed, text(r), text(rm));
        if (rm) {
            auto un = wire::iommufd::ioas_unmap(A, placed, page);
            (void)(un ? issue(ifd, *un) : result<void>(un.error()));
        }
        munmap(one, page);
        auto clr = wire::iommufd::ioas_allow_iovas(A, {});
        auto rc = clr ? issue(ifd, *clr) : result<void>(clr.error());
        check(rc && clr->header().num_iovas == 0 && clr->header().allowed_iovas == 0,
              "[builders] ioas_allow_iovas(ioas {}, {{}}) lifts it (num_iovas 0) ({})", A, text(rc));
    }

    // MAP in A, COPY into B, MAP_FILE of a memfd into B (fixed and kernel-chosen IOVA).
    std::uint8_t* mem = map_pages(1);
    const auto rw = uapi::ioas_map_flag::readable | uapi::ioas_map_flag::writeable;
    auto ra = ioas_map(ifd, A, mem, 0x100000);
    check(ra.has_value(), "[builders] IOMMU_IOAS_MAP 4 KiB at iova 0x100000 of ioas {} ({})", A, text(ra));
    {
        auto cp = wire::iommufd::ioas_copy(B, A, 0x100000, page, rw, 0x200000);
        auto r = cp ? issue(ifd, *cp) : result<void>(cp.error());
        check(r && cp->size() == 40 && cp->header().dst_iova == 0x200000,
              "[builders] wire::iommufd::ioas_copy(ioas {} <- ioas {}, 0x100000 -> 0x200000) IOMMU_IOAS_COPY (size {}) ({})", B, A,
              cp ? cp->size() : 0, text(r));
    }
    const unique_fd memfd{memfd_create("vfiopp-libtest", MFD_CLOEXEC)};
    const bool sized = memfd && ftruncate(memfd.get(), 2 * page) == 0;
    check(sized, "[builders] memfd_create + ftruncate 8 KiB ({})", sized ? "ok" : std::strerror(errno));
    {
        auto mf = wire::iommufd::ioas_map_file(B, memfd.get(), 0, 2 * page, rw, 0x300000);
        auto r = mf ? issue(ifd, *mf) : result<void>(mf.error());
        check(r && mf->size() == 40 && mf->header().iova == 0x300000,
              "[builders] wire::iommufd::ioas_map_file(ioas {}, memfd, 0, 8 KiB, iova 0x300000) IOMMU_IOAS_MAP_FILE (size {}) ({})", B,
              mf ? mf->size() : 0, text(r));
        auto mf2 = wire::iommufd::ioas_map_file(B, memfd.get(), 0, 2 * page, rw);
        auto r2 = mf2 ? issue(ifd, *mf2) : result<void>(mf2.error());
        check(r2 && mf2->header().iova != 0 && mf2->header().iova != 0x300000,
              "[builders] ioas_map_file without an iova: the kernel chose {:#x} ({})", mf2 ? mf2->header().iova : 0, text(r2));
    }
    // NOIOMMU_GET_PA: the 7.3 kernel is built without CONFIG_IOMMUFD_NOIOMMU (VFIO_NOIOMMU is off).
    {
        auto q = wire::iommufd::ioas_noiommu_get_pa(A, 0x100000, page);
        expect_refusal(q ? issue(ifd, *q) : result<void>(q.error()), EOPNOTSUPP, "IOMMU_IOAS_NOIOMMU_GET_PA",
                       fmt::format("[builders] wire::iommufd::ioas_noiommu_get_pa(ioas {}, 0x100000) IOMMU_IOAS_NOIOMMU_GET_PA (size {})", A,
                                   q ? q->size() : 0),
                       "the kernel is built without CONFIG_IOMMUFD_NOIOMMU: the stub refuses");
    }
    // CHANGE_PROCESS moves only memfd (IOAS_MAP_FILE) mappings: refused while a user-VA mapping exists.
    {
        auto cp = wire::iommufd::ioas_change_process();
        expect_refusal(issue(ifd, cp), EINVAL, "IOMMU_IOAS_CHANGE_PROCESS",
                       fmt::format("[builders] wire::iommufd::ioas_change_process IOMMU_IOAS_CHANGE_PROCESS (size {}) with a user-VA mapping", cp.size()),
                       "every mapping of the context must come from IOAS_MAP_FILE");
        auto u1 = wire::iommufd::ioas_unmap(A, 0x100000, page);
        auto ru1 = u1 ? issue(ifd, *u1) : result<void>(u1.error());
        auto u2 = wire::iommufd::ioas_unmap(B, 0x200000, page);
        auto ru2 = u2 ? issue(ifd, *u2) : result<void>(u2.error());
        auto cp2 = wire::iommufd::ioas_change_process();
        auto r = issue(ifd, cp2);
        check(ru1 && ru2 && r, "[builders] ioas_change_process once only memfd mappings remain ({}, {}, {})", text(ru1), text(ru2), text(r));
    }
    {
        auto ua = wire::iommufd::ioas_unmap_all(B);
        auto r = issue(ifd, ua);
        check(r && ua.header().length == 4 * page && ua.header().iova == 0,
              "[builders] wire::iommufd::ioas_unmap_all(ioas {}) IOMMU_IOAS_UNMAP (iova 0, length U64_MAX): {} bytes ({})", B,
              ua.header().length, text(r));
    }
    munmap(mem, page);

    // HWPT_ALLOC variants, dirty tracking, invalidation, fault queue, vIOMMU on emulated VT-d.
    if (at) {
        auto dt = wire::iommufd::hwpt_alloc(devid, A, uapi::hwpt_alloc_flag::dirty_tracking);
        expect_refusal(dt ? issue(ifd, *dt) : result<void>(dt.error()), EOPNOTSUPP, "IOMMU_HWPT_ALLOC",
                       "[builders] wire::iommufd::hwpt_alloc(DIRTY_TRACKING) IOMMU_HWPT_ALLOC",
                       "QEMU's VT-d has no second-stage A/D bits (ECAP.SSADS): no dirty tracking");
        auto pa = wire::iommufd::hwpt_alloc(devid, A, uapi::hwpt_alloc_flag::pasid);
        auto pid = pa ? alloc_id(ifd, *pa, &uapi::iommu_hwpt_alloc::out_hwpt_id) : result<u32>(pa.error());
        check(pid.has_value(), "[builders] wire::iommufd::hwpt_alloc(PASID) IOMMU_HWPT_ALLOC: hwpt {} ({})", pid ? *pid : 0, text(pid));
        if (pid) (void)destroy(ifd, *pid);

        auto fq = wire::iommufd::fault_queue_alloc();
        auto ffd = issue(ifd, fq);
        const u32 fault_id = fq.header().out_fault_id;
        const bool real_fd = ffd && *ffd && fcntl(ffd->get(), F_GETFD) >= 0 && (fcntl(ffd->get(), F_GETFD) & FD_CLOEXEC);
        check(real_fd && fault_id != 0 && static_cast<int>(fq.header().out_fault_fd) == (ffd ? ffd->get() : -2),
              "[builders] wire::iommufd::fault_queue_alloc IOMMU_FAULT_QUEUE_ALLOC (size {}): fault {}, unique_fd {} (an open CLOEXEC fd) ({})",
              fq.size(), fault_id, ffd ? ffd->get() : -1, text(ffd));
        if (ffd) {
            auto fh = wire::iommufd::hwpt_alloc(devid, A, {}, fault_id);
            auto fhid = fh ? alloc_id(ifd, *fh, &uapi::iommu_hwpt_alloc::out_hwpt_id) : result<u32>(fh.error());
            check(fhid && fh->header().flags.has(uapi::hwpt_alloc_flag::fault_id_valid) && fh->header().fault_id == fault_id,
                  "[builders] wire::iommufd::hwpt_alloc(fault_id {}) IOMMU_HWPT_ALLOC (FAULT_ID_VALID): hwpt {} ({})", fault_id,
                  fhid ? *fhid : 0, text(fhid));
            if (fhid) (void)destroy(ifd, *fhid);
            expect_refusal(destroy(ifd, fault_id), EBUSY, "IOMMU_DESTROY", "[builders] IOMMU_DESTROY of the fault queue while its fd is open",
                           "the fault fd holds a reference on the object");
            ffd->reset();
            auto rd = destroy(ifd, fault_id);
            check(rd.has_value(), "[builders] IOMMU_DESTROY fault {} once its unique_fd is closed ({})", fault_id, text(rd));
        }

        auto ph = wire::iommufd::hwpt_alloc(devid, A, {});
        auto H = ph ? alloc_id(ifd, *ph, &uapi::iommu_hwpt_alloc::out_hwpt_id) : result<u32>(ph.error());
        if (check(H.has_value(), "[builders] IOMMU_HWPT_ALLOC plain: hwpt {} ({})", H ? *H : 0, text(H))) {
            auto sd = wire::iommufd::hwpt_set_dirty_tracking(*H, true);
            expect_refusal(issue(ifd, sd), EOPNOTSUPP, "IOMMU_HWPT_SET_DIRTY_TRACKING",
                           fmt::format("[builders] wire::iommufd::hwpt_set_dirty_tracking(hwpt {}, true) IOMMU_HWPT_SET_DIRTY_TRACKING (size {})", *H, sd.size()),
                           "the HWPT was not allocated with DIRTY_TRACKING (which emulated VT-d refuses): no dirty ops");
            std::array<u64, 1> bits{};
            auto gb = wire::iommufd::hwpt_get_dirty_bitmap(*H, 0x100000, 2 * page, page, std::span(bits));
            expect_refusal(gb ? issue(ifd, *gb) : result<void>(gb.error()), EOPNOTSUPP, "IOMMU_HWPT_GET_DIRTY_BITMAP",
                           fmt::format("[builders] wire::iommufd::hwpt_get_dirty_bitmap(hwpt {}, 0x100000, 8 KiB) IOMMU_HWPT_GET_DIRTY_BITMAP (size {})", *H,
                                       gb ? gb->size() : 0),
                           "no dirty ops on the HWPT");
            std::array<uapi::iommu_hwpt_vtd_s1_invalidate, 1> inv{};
            inv[0].addr = 0;
            inv[0].npages = ~u64{0};
            auto iv = wire::iommufd::hwpt_invalidate(*H, inv);
            auto riv = iv ? issue(ifd, *iv) : result<void>(iv.error());
            check(kernel_refused(riv, EINVAL, "IOMMU_HWPT_INVALIDATE") && iv->header().entry_num == 0 &&
                      iv->header().data_type == uapi::hwpt_invalidate_data_type::vtd_s1 && iv->header().entry_len == 24,
                  "[builders] wire::iommufd::hwpt_invalidate(hwpt {}, 1 vtd_s1 entry) IOMMU_HWPT_INVALIDATE (size {}): kernel refused with EINVAL: "
                  "a kernel-managed (paging) HWPT takes no user invalidation, entry_num written back {} ({})",
                  *H, iv ? iv->size() : 0, iv ? iv->header().entry_num : 99, text(riv));
            uapi::iommu_hwpt_vtd_s1 s1{};
            s1.addr_width = 48;
            auto nh = wire::iommufd::hwpt_alloc(devid, *H, {}, s1);
            expect_refusal(nh ? issue(ifd, *nh) : result<void>(nh.error()), EINVAL, "IOMMU_HWPT_ALLOC",
                           fmt::format("[builders] wire::iommufd::hwpt_alloc(hwpt {}, vtd_s1 data) IOMMU_HWPT_ALLOC nested", *H),
                           "the parent is not a NEST_PARENT HWPT (which emulated VT-d cannot allocate)");
            auto vi = wire::iommufd::viommu_alloc(devid, *H, uapi::viommu_type::arm_smmuv3);
            expect_refusal(issue(ifd, vi), EOPNOTSUPP, "IOMMU_VIOMMU_ALLOC",
                           fmt::format("[builders] wire::iommufd::viommu_alloc(arm_smmuv3) IOMMU_VIOMMU_ALLOC (size {}) on VT-d", vi.size()),
                           "the VT-d driver has no vIOMMU (no get_viommu_size/viommu_init)");
            (void)destroy(ifd, *H);
        }
    }

    if (at && edu_open(d)) walk_device(d, -1);

    d.unmap();
    d.fd.reset();  // unbinds: the auto HWPT goes, the IOASes can be destroyed
    auto r1 = destroy(ifd, A);
    auto r2 = destroy(ifd, B);
    check(r1 && r2, "[builders] IOMMU_DESTROY ioas {} and {} after the cdev is closed ({}, {})", A, B, text(r1), text(r2));
}

// vIOMMU, vDEVICE, vEVENTQ and HW queue through real 7.3 iommufd code on the IOMMUFD_TEST mock (the mock's types
// are passed as the builders' enum values: IOMMU_VIOMMU_TYPE_SELFTEST 0xdeadbeef, IOMMU_VEVENTQ_TYPE_SELFTEST
// 0xbeefbeef, IOMMU_HW_QUEUE_TYPE_SELFTEST 0xdeadbeef).
void walk_mock_viommu() {
    fmt::print("==== builders: vIOMMU objects on the IOMMUFD_TEST mock ====\n");
    const unique_fd iommufd{open("/dev/iommu", O_RDWR | O_CLOEXEC)};
    const int ifd = iommufd.get();
    auto alloc = wire::iommufd::ioas_alloc();
    auto ioas = alloc_id(ifd, alloc, &uapi::iommu_ioas_alloc::out_ioas_id);
    if (!check(ioas.has_value(), "[mock+] IOMMU_IOAS_ALLOC ({})", text(ioas))) return;
    iommu_test_cmd_req mock;
    mock.cmd.size = sizeof mock.cmd;
    mock.cmd.op = iommu_test_op_mock_domain;
    mock.cmd.id = *ioas;
    auto rm = io::submit(ifd, mock);
    const u32 idev = mock.cmd.out_idev_id, stdev = mock.cmd.out_stdev_id;
    if (!check(rm && idev != 0, "[mock+] IOMMU_TEST_CMD MOCK_DOMAIN: device {} ({})", idev, text(rm))) return;
    auto pa = wire::iommufd::hwpt_alloc(idev, *ioas, uapi::hwpt_alloc_flag::nest_parent);
    auto parent = pa ? alloc_id(ifd, *pa, &uapi::iommu_hwpt_alloc::out_hwpt_id) : result<u32>(pa.error());
    check(parent.has_value(), "[mock+] IOMMU_HWPT_ALLOC NEST_PARENT: hwpt {} ({})", parent ? *parent : 0, text(parent));
    constexpr u64 mock_iova = 0x1000000;  // MOCK_APERTURE_START: the mock domain maps [16 MiB, 2 GiB)
    std::uint8_t* mem = map_pages(1);
    auto rmap = ioas_map(ifd, *ioas, mem, mock_iova);
    check(rmap.has_value(), "[mock+] IOMMU_IOAS_MAP 4 KiB at iova {:#x} (the HW queue's guest memory) ({})", mock_iova, text(rmap));
    if (parent) {
        auto va = wire::iommufd::viommu_alloc(idev, *parent, static_cast<uapi::viommu_type>(0xdeadbeefu));
        auto viommu = alloc_id(ifd, va, &uapi::iommu_viommu_alloc::out_viommu_id);
        if (check(viommu && *viommu != 0, "[mock+] wire::iommufd::viommu_alloc(type 0xdeadbeef) IOMMU_VIOMMU_ALLOC (size {}): viommu {} ({})",
                  va.size(), viommu ? *viommu : 0, text(viommu))) {
            auto vd = wire::iommufd::vdevice_alloc(*viommu, idev, 0x10);
            auto vdev = alloc_id(ifd, vd, &uapi::iommu_vdevice_alloc::out_vdevice_id);
            check(vdev && *vdev != 0, "[mock+] wire::iommufd::vdevice_alloc(viommu {}, device {}, virt_id 0x10) IOMMU_VDEVICE_ALLOC (size {}): vdevice {} ({})",
                  *viommu, idev, vd.size(), vdev ? *vdev : 0, text(vdev));
            auto eq = wire::iommufd::veventq_alloc(*viommu, static_cast<uapi::veventq_type>(0xbeefbeefu), 8);
            auto efd = eq ? issue(ifd, *eq) : result<unique_fd>(eq.error());
            const u32 veventq = eq ? eq->header().out_veventq_id : 0;
            check(efd && *efd && fcntl(efd->get(), F_GETFD) >= 0 && veventq != 0,
                  "[mock+] wire::iommufd::veventq_alloc(viommu {}, type 0xbeefbeef, depth 8) IOMMU_VEVENTQ_ALLOC (size {}): veventq {}, unique_fd {} ({})",
                  *viommu, eq ? eq->size() : 0, veventq, efd ? efd->get() : -1, text(efd));
            auto hq = wire::iommufd::hw_queue_alloc(*viommu, static_cast<uapi::hw_queue_type>(0xdeadbeefu), 0, mock_iova, page);
            auto hwq = hq ? alloc_id(ifd, *hq, &uapi::iommu_hw_queue_alloc::out_hw_queue_id) : result<u32>(hq.error());
            check(hwq && *hwq != 0, "[mock+] wire::iommufd::hw_queue_alloc(viommu {}, type 0xdeadbeef, index 0, iova {:#x}, 4 KiB) IOMMU_HW_QUEUE_ALLOC (size {}): queue {} ({})",
                  *viommu, mock_iova, hq ? hq->size() : 0, hwq ? *hwq : 0, text(hwq));
            // undo in reverse order: HW queue, vEVENTQ (fd first), vDEVICE, vIOMMU
            auto d1 = hwq ? destroy(ifd, *hwq) : result<void>();
            if (efd) efd->reset();
            auto d2 = veventq ? destroy(ifd, veventq) : result<void>();
            auto d3 = vdev ? destroy(ifd, *vdev) : result<void>();
            auto d4 = destroy(ifd, *viommu);
            check(d1 && d2 && d3 && d4, "[mock+] IOMMU_DESTROY HW queue, vEVENTQ (its fd closed first), vDEVICE, vIOMMU ({}, {}, {}, {})",
                  text(d1), text(d2), text(d3), text(d4));
        }
    }
    auto un = wire::iommufd::ioas_unmap(*ioas, mock_iova, page);
    auto ru = un ? issue(ifd, *un) : result<void>(un.error());
    munmap(mem, page);
    auto dp = parent ? destroy(ifd, *parent) : result<void>();
    auto ds = destroy(ifd, stdev);
    auto di = destroy(ifd, *ioas);
    check(ru && dp && ds && di, "[mock+] unmap, IOMMU_DESTROY parent, mock device, ioas ({}, {}, {}, {})", text(ru), text(dp), text(ds),
          text(di));
}

// Migration through the library on an mtty instance (tests/vm/run --mtty N): MIGRATION / MIG_DEVICE_STATE /
// MIG_DATA_SIZE / DMA logging features, RUNNING -> PRE_COPY with its data fd (a unique_fd), MIG_GET_PRECOPY_INFO
// on that fd, back to RUNNING (mtty 7.3 oopses on a device reopened after being closed in RESUMING: leave RUNNING).
void walk_mtty(const std::vector<std::string>& mtty_cdevs) {
    fmt::print("==== builders: mtty migration ====\n");
    const unique_fd iommufd{open("/dev/iommu", O_RDWR | O_CLOEXEC)};
    const int ifd = iommufd.get();
    unique_fd dev{open(mtty_cdevs[0].c_str(), O_RDWR | O_CLOEXEC)};
    auto bind = wire::vfio::device_bind_iommufd(ifd);
    auto rb = dev && bind ? issue(dev.get(), *bind) : result<void>(error{"open", {}, errno, {}, error_origin::library});
    auto alloc = wire::iommufd::ioas_alloc();
    auto ioas = alloc_id(ifd, alloc, &uapi::iommu_ioas_alloc::out_ioas_id);
    if (!check(rb && ioas, "[mtty] open {}, BIND_IOMMUFD, IOAS_ALLOC ({}, {})", mtty_cdevs[0], text(rb), text(ioas))) return;
    auto at = wire::vfio::device_attach_iommufd_pt(*ioas);
    auto ra = issue(dev.get(), at);
    check(ra.has_value(), "[mtty] ATTACH_IOMMUFD_PT to ioas {} ({})", *ioas, text(ra));
    const int dfd = dev.get();
    {
        auto g = wire::vfio::feature_get<uapi::vfio_device_feature_migration>();
        auto r = issue(dfd, g);
        auto f = g.read<uapi::vfio_device_feature_migration>(8).flags;
        check(r && g.size() == 16 && f == (uapi::migration_flag::stop_copy | uapi::migration_flag::p2p | uapi::migration_flag::pre_copy),
              "[mtty] wire::vfio::feature_get<migration> VFIO_DEVICE_FEATURE GET (argsz {}): flags {:#x} ({})", g.size(), f.bits(), text(r));
        auto s = wire::vfio::feature_get<uapi::vfio_device_feature_mig_state>();
        auto rs = issue(dfd, s);
        auto st = s.read<uapi::vfio_device_feature_mig_state>(8).device_state;
        check(rs && st == uapi::device_mig_state::running, "[mtty] feature_get<mig_device_state>: state {} ({})", static_cast<u32>(st), text(rs));
        auto z = wire::vfio::feature_get<uapi::vfio_device_feature_mig_data_size>();
        auto rz = issue(dfd, z);
        auto len = z.read<uapi::vfio_device_feature_mig_data_size>(8).stop_copy_length;
        check(rz && len > 0, "[mtty] feature_get<mig_data_size>: stop_copy_length {} ({})", len, text(rz));
        auto p = wire::vfio::feature_probe<uapi::vfio_device_feature_dma_logging_control>();
        auto rp = issue(dfd, p);
        check(rp.has_value(), "[mtty] feature_probe<dma_logging_start> (argsz {}): mtty has log_ops ({})", p.size(), text(rp));
        auto ls = wire::vfio::feature_set(wire::vfio::dma_logging_stop{});
        auto rl = issue(dfd, ls);
        check(rl.has_value(), "[mtty] feature_set(dma_logging_stop) (argsz {}) ({})", ls.size(), text(rl));
    }
    {
        // Opt in to precopy_info_flag::reinit reporting (7.3): a SET without data; mtty supports PRE_COPY.
        auto v2 = wire::vfio::feature_set(wire::vfio::mig_precopy_infov2{});
        auto r2 = issue(dfd, v2);
        check(r2.has_value() && v2.size() == 8,
              "[mtty] feature_set(mig_precopy_infov2) VFIO_DEVICE_FEATURE SET (argsz {}, flags {:#x}) ({})", v2.size(),
              v2.header().flags.bits(), text(r2));
    }
    {
        auto pre = wire::vfio::feature_set(uapi::vfio_device_feature_mig_state{uapi::device_mig_state::pre_copy, -1});
        auto data = issue(dfd, pre);
        check(data && *data && fcntl(data->get(), F_GETFD) >= 0,
              "[mtty] feature_set(mig_state PRE_COPY) VFIO_DEVICE_FEATURE SET (argsz {}): data fd as unique_fd {} ({})", pre.size(),
              data ? data->get() : -1, text(data));
        if (data && *data) {
            auto pi = wire::vfio::mig_get_precopy_info();
            auto r = issue(data->get(), pi);
            check(r && pi.size() == 24 && pi.header().initial_bytes == 24 && pi.header().dirty_bytes == 0,
                  "[mtty] wire::vfio::mig_get_precopy_info VFIO_MIG_GET_PRECOPY_INFO (argsz {}) on the data fd: initial {}, dirty {} ({})",
                  pi.size(), pi.header().initial_bytes, pi.header().dirty_bytes, text(r));
        }
        auto run = wire::vfio::feature_set(uapi::vfio_device_feature_mig_state{uapi::device_mig_state::running, -1});
        auto rr = issue(dfd, run);
        check(rr && !*rr, "[mtty] feature_set(mig_state RUNNING): no data fd (empty unique_fd) ({})", text(rr));
        if (data && *data) {
            auto pi = wire::vfio::mig_get_precopy_info();
            expect_refusal(issue(data->get(), pi), EINVAL, "VFIO_MIG_GET_PRECOPY_INFO", "[mtty] mig_get_precopy_info on the old data fd after RUNNING",
                           "mtty answers it only in PRE_COPY states");
        }
    }
    dev.reset();  // RUNNING: safe to close; unbinds
    auto rd = destroy(ifd, *ioas);
    check(rd.has_value(), "[mtty] IOMMU_DESTROY ioas {} ({})", *ioas, text(rd));
}

// The summary: every wire::builders entry issued at least once, or an allowed exception with its reason.
void builders_summary(bool have_mtty) {
    fmt::print("==== builders: coverage ====\n");
    std::string issued, never;
    int n_issued = 0;
    for (std::size_t i = 0; i < wire::builders.size(); i++) {
        const auto& b = wire::builders[i];
        if (builder_issued[i]) {
            n_issued++;
            issued += fmt::format("{}{}", issued.empty() ? "" : ", ", b.builder);
            continue;
        }
        // allowed exceptions
        if (!kernel_73 && b.builder.starts_with("wire::iommufd::")) {
            info("not issued: {} ({}): Debian's 6.1 has no /dev/iommu (CONFIG_IOMMUFD is not set, TESTBED.md)", b.builder, b.ioctl);
            continue;
        }
        never += fmt::format("{}{} ({})", never.empty() ? "" : ", ", b.builder, b.ioctl);
    }
    (void)have_mtty;
    info("builders issued ({} of {}): {}", n_issued, wire::builders.size(), issued);
    check(never.empty(), "[builders] every wire::builders entry issued at least once on this kernel{}{}", never.empty() ? "" : "; never: ",
          never);
}

}  // namespace

int main() {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    const char* kernel = std::getenv("VFIOPP_VM_KERNEL") ? std::getenv("VFIOPP_VM_KERNEL") : "";
    info("vfiopp library test: kernel {}, intel-iommu {}", kernel,
         std::getenv("VFIOPP_VM_IOMMU") ? std::getenv("VFIOPP_VM_IOMMU") : "?");
    if (!std::getenv("VFIOPP_VM")) {
        std::fprintf(stderr, "libtest: VFIOPP_VM is not set; run me with tests/vm/run\n");
        return 2;
    }
    auto edu = split_env("VFIOPP_EDU");
    auto groups = split_env("VFIOPP_EDU_GROUPS");
    auto cdevs = split_env("VFIOPP_EDU_CDEVS");
    // the iommufd kernel has everything: there, a missing cdev is a failure, never a skip
    bool full = std::string_view(kernel) == "iommufd";
    packed_caps_kernel = std::string_view(kernel) == "debian";

    kernel_73 = full;
    auto mtty = split_env("VFIOPP_MTTY_CDEVS");

    type1_state st;
    test_type1(edu, groups, st);
    if (st.container && !st.groups.empty()) {
        walk_type1_container(st.container.get());
        walk_type1_device(edu, st);
    }
    close_type1(st);  // a cdev cannot be bound while its group is open
    if (full || !cdevs.empty()) test_iommufd(edu, cdevs);
    if (full) walk_iommufd(edu, cdevs);
    if (full) test_mock_nesting();
    if (full) walk_mock_viommu();
    if (!mtty.empty()) walk_mtty(mtty);
    builders_summary(!mtty.empty());

    fmt::print("{} passed, {} failed\n", n_pass, n_fail);
    return n_fail == 0 && n_pass > 0 ? 0 : 1;
}
