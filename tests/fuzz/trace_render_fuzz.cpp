// libFuzzer target: vfio-trace's decoding of a traced ioctl from arbitrary tracee memory (examples/vfio-trace/*.hpp).
// The tracee's address space is the input, read through vfio_trace::remote_reader (memory.hpp) instead of
// process_vm_readv, so the whole path runs as in the tracer: read_remote's page-by-page reads, read_image's argsz
// (clipped at max_image), render_image at entry (request) and exit (reply, with the request image), the arrays an
// iommufd ioctl points to, the out-fd and feature-fd bookkeeping, then the record as a text line and a JSON line and
// the --summary. Entry and exit are the tool's own vt::capture_request and vt::finish_reply (capture.hpp), which
// its ptrace loop calls too; only the fd-table lookup and the syscall stops are left out.
//
// Input: a 32-byte header, then the tracee's memory:
//   u8 kind   fd kind (mod 6: other, container, group, device, iommufd, migration-data)
//   u8 flags  bit 0: the ioctl is ioctl_registry[sel] (code and its fd kind) instead of `code` on `kind`;
//             bit 1: the call failed (errno -rval, or EFAULT); bit 2: the memory is two images, the first
//             entry_len bytes before the call and the rest after it (else the kernel wrote nothing);
//             bit 3: the reader returns short pieces (1-8 bytes) like a partial process_vm_readv / PEEKDATA;
//             bit 4: the record is also printed as unfinished (the thread died or was detached inside the call);
//             bit 5: first read a path at arg and classify it, as the tracer does for open*() (fds.hpp)
//   u16 sel, u32 code, u64 base (the memory's address), i32 arg_delta (arg = base + delta), u32 entry_len, i64 rval
// Everything outside [base, base + size) is unmapped (EFAULT).
// Invariants (abort on violation): nothing throws; the reader is only asked for 1..page bytes within one page; the
// text is one line; the JSON line is one line, parses back, and names the code; a path read from the tracee is
// classified as a VFIO fd only when it is one of VFIO's device node forms (or an --assume-kind path), and never
// holds a NUL.
#include "vfio-trace/capture.hpp"
#include "vfio-trace/fds.hpp"
#include "vfio-trace/memory.hpp"
#include "vfio-trace/output.hpp"
#include "vfio-trace/render.hpp"

#include <vfiopp/uapi/registry.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vt = vfio_trace;
namespace uapi = vfiopp::uapi;

namespace {

[[noreturn]] void fail(const char* why) {
    std::fprintf(stderr, "trace_render_fuzz: invariant violated: %s\n", why);
    std::abort();
}

// ---- the tracee's memory ----
struct tracee_memory {
    std::uint64_t base = 0;
    std::span<const std::byte> bytes;
    bool short_pieces = false;
};
tracee_memory mem;

ssize_t read_tracee(pid_t, std::uint64_t at, std::byte* to, std::size_t n) {
    const std::size_t page = vt::page_size();
    if (n == 0 || n > page || at % page + n > page) fail("read_remote asked for a piece that is not within one page");
    const std::uint64_t off = at - mem.base;  // wraps: an address below base is far beyond the end
    if (off >= mem.bytes.size()) {
        errno = EFAULT;
        return -1;
    }
    std::size_t take = std::min<std::size_t>(n, mem.bytes.size() - off);
    if (mem.short_pieces) take = std::min<std::size_t>(take, 1 + at % 8);
    std::memcpy(to, mem.bytes.data() + off, take);
    return static_cast<ssize_t>(take);
}

vt::fd_kind trace_kind(uapi::fd_kind k) {
    switch (k) {
        case uapi::fd_kind::container: return vt::fd_kind::container;
        case uapi::fd_kind::group: return vt::fd_kind::group;
        case uapi::fd_kind::device: return vt::fd_kind::device;
        case uapi::fd_kind::iommufd: return vt::fd_kind::iommufd;
        case uapi::fd_kind::migration_data: return vt::fd_kind::migration_data;
    }
    return vt::fd_kind::other;
}

template <typename T>
T take(const std::uint8_t* p) {
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

void check_output(const vt::record& r) {
    const std::string text = vt::to_text(r);
    if (text.find('\n') != std::string::npos) fail("the text of one ioctl is not one line");
    // as tracer::emit / dump(): bytes that are not UTF-8 become U+FFFD
    const std::string line = vt::to_json(r).dump(-1, ' ', false, vt::json::error_handler_t::replace);
    if (line.find('\n') != std::string::npos) fail("the JSON of one ioctl is not one line");
    auto back = vt::json::parse(line, nullptr, false);
    if (back.is_discarded()) fail("the JSON line does not parse");
    if (back["code"] != fmt::format("{:#x}", r.code)) fail("the JSON line names another code");
    vt::summary s;
    s.count(r);
    s.count(r);
    (void)s.text();
    (void)s.to_json().dump(-1, ' ', false, vt::json::error_handler_t::replace);
}

void check_path(const std::string& path) {
    if (path.size() > 4096 || path.find('\0') != std::string::npos) fail("a path read from the tracee holds a NUL");
    static const vt::assumptions assume{{"/tmp/fake-vfio", vt::fd_kind::container}};
    const auto k = vt::classify(path, assume);
    if (!k) return;
    const std::string_view p = path;
    auto digits_after = [&](std::string_view prefix) {
        return p.starts_with(prefix) && p.size() > prefix.size() &&
               p.substr(prefix.size()).find_first_not_of("0123456789") == std::string_view::npos;
    };
    const bool vfio = p == "/tmp/fake-vfio" || p == "/dev/vfio/vfio" || p == "/dev/iommu" ||
                      p == "anon_inode:[vfio-device]" || digits_after("/dev/vfio/") || digits_after("/dev/vfio/noiommu-") ||
                      digits_after("/dev/vfio/devices/vfio") || digits_after("/dev/vfio/devices/noiommu-vfio");
    if (!vfio || *k == vt::fd_kind::other) fail("a path that is none of VFIO's classified as a VFIO fd");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    constexpr std::size_t header = 32;
    if (size < header) return 0;
    const std::uint8_t kind_byte = data[0], flags = data[1];
    const auto sel = take<std::uint16_t>(data + 2);
    const auto raw_code = take<std::uint32_t>(data + 4);
    const auto base = take<std::uint64_t>(data + 8);
    const auto arg_delta = take<std::int32_t>(data + 16);
    const auto entry_len = take<std::uint32_t>(data + 20);
    const auto rval_in = take<std::int64_t>(data + 24);

    // the memory in an allocation of its own, so ASan sees a read past it
    const std::size_t n = size - header;
    std::vector<std::byte> memory(n);
    if (n) std::memcpy(memory.data(), data + header, n);
    std::span<const std::byte> before(memory), after(memory);
    if (flags & 0x4) {
        const std::size_t split = std::min<std::size_t>(entry_len, n);
        before = before.first(split);
        after = after.subspan(split);
    }

    vt::record r;
    r.tid = r.pid = 4242;
    r.fd = 7;
    if (flags & 0x1) {
        const auto& e = uapi::ioctl_registry[sel % uapi::ioctl_registry.size()];
        r.code = e.code;
        r.kind = trace_kind(e.fd);
    } else {
        r.code = raw_code;
        r.kind = static_cast<vt::fd_kind>(kind_byte % 6);
    }
    r.arg = base + static_cast<std::uint64_t>(static_cast<std::int64_t>(arg_delta));
    const bool vfio_type = ((r.code >> 8) & 0xff) == ';';
    if (r.kind == vt::fd_kind::other && !vfio_type) return 0;  // not traced

    if (flags & 0x20) {  // tracer::on_entry of open(): the path, then on_return: what it is
        mem = {base, before, (flags & 0x8) != 0};
        vt::remote_reader = read_tracee;
        std::string path;
        vt::read_remote_string(r.tid, r.arg, 4096, path);
        check_path(path);
    }
    vt::fd_table fds;
    vt::render_ctx ctx{r.tid, [&](int fd) {
                           if (auto k = fds.find(fd)) return *k;
                           return static_cast<vt::fd_kind>(static_cast<unsigned>(fd) % 6);
                       }};
    vt::remote_reader = read_tracee;
    mem = {base, before, (flags & 0x8) != 0};
    std::vector<std::byte> in_image;
    vt::capture_request(r, in_image, ctx);
    if (in_image.size() > vt::max_image + 256) fail("read_image read more than max_image");
    mem.bytes = after;
    const bool is_error = flags & 0x2;
    std::int64_t rval = rval_in;
    if (is_error && (rval >= 0 || rval < -4095)) rval = -EFAULT;  // the kernel's error returns
    vt::finish_reply(r, in_image, rval, is_error, ctx);
    if (r.new_fd) fds.set(*r.new_fd, r.new_fd_kind);
    check_output(r);
    if (flags & 0x10) {  // the call unfinished: the thread died or was detached inside it
        r.finished = false;
        r.unfinished_why = "detached";
        check_output(r);
    }
    vt::remote_reader = nullptr;
    return 0;
}
