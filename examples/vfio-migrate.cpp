// vfio-migrate - moves a device's state into another device of the same kind through the VFIO migration v2 state
// machine (vfiopp::migration): the source RUNNING -> PRE_COPY (when it offers it) -> STOP_COPY, its data fd read
// to the end; the target RUNNING -> ... -> RESUMING, the bytes written, -> STOP (the device loads them) -> RUNNING.
//
//   vfio-migrate 21cc2e42-... 1b5d8fa7-...                  two mtty instances (mdev UUIDs)
//   vfio-migrate /dev/vfio/devices/vfio4 /dev/vfio/devices/vfio5
//   vfio-migrate --verify --json 0000:3b:00.1 0000:3b:00.2  two VFs of a NIC with a migration variant driver
//
// Each FSM arc is one ioctl; migration::move_to() walks the kernel's own path (with P2P: RUNNING -> RUNNING_P2P ->
// STOP -> RESUMING), and the arcs taken are printed. Both devices are left RUNNING before they are closed, also
// after a failure: a device left in STOP or STOP_COPY by a process that exits is found stopped by its next user, and
// mtty (Linux 7.3) oopses when a device closed in RESUMING is reopened.
//
// Exit codes (also in --help): 0 moved, the target RUNNING; 1 a step failed (the library's error is printed, both
// devices are put back to RUNNING); 2 bad command line; 3 no such device; 4 permission denied on a VFIO node; 5 a
// device is not bound to a VFIO driver, or its group is not viable; 6 a device has no migration support; 7 the two
// devices are not of the same kind; 8 the target did not reach RUNNING, or --verify found its state differs.
#include <vfiopp/dma_space.hpp>
#include <vfiopp/fmt.hpp>
#include <vfiopp/fmt_error.hpp>
#include <vfiopp/migration.hpp>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace {
using namespace vfiopp;
using json = nlohmann::json;
using st = uapi::device_mig_state;

constexpr int exit_ok = 0, exit_failed = 1, exit_usage = 2, exit_no_device = 3, exit_permission = 4, exit_not_vfio = 5,
              exit_no_migration = 6, exit_different = 7, exit_not_running = 8;
constexpr const char* exit_codes_text =
    "Exit codes:\n"
    "  0  the state moved and the target is RUNNING\n"
    "  1  a step failed (the error is printed; both devices are put back to RUNNING)\n"
    "  2  bad command line\n"
    "  3  no such device\n"
    "  4  permission denied on a VFIO node (/dev/vfio/N, /dev/vfio/devices/vfioN, /dev/iommu)\n"
    "  5  a device is not bound to a VFIO driver (vfio-bind binds it), or its group is not viable\n"
    "  6  a device has no migration support (its driver implements no VFIO migration v2)\n"
    "  7  the two devices are not of the same kind (PCI vendor:device, or mdev type)\n"
    "  8  the target did not reach RUNNING, or --verify found that it holds a different state\n";

int exit_code_of(const error& e) {
    if (e.code == EACCES || e.code == EPERM) return exit_permission;
    if (e.ioctl == "locate_device" && e.code == ENOENT) return exit_no_device;
    if (e.ioctl == "locate_device" && e.field == "driver") return exit_not_vfio;
    if (e.ioctl == uapi::vfio::group_get_status.name && e.field == "flags") return exit_not_vfio;
    return exit_failed;
}
std::string hint_for(const error& e, const std::string& name) {
    if (e.code == EACCES || e.code == EPERM)
        return "run as root, or give your user the VFIO nodes (vfio-bind prints them)";
    if (e.ioctl == "locate_device" && e.field == "driver") return "bind it with: vfio-bind " + name;
    if (e.ioctl == uapi::vfio::group_get_status.name && e.field == "flags") return "bind the whole group: vfio-bind --group " + name;
    if (e.code == EBUSY) return "another process (a VMM) holds the device or its group open; VFIO allows one opener";
    return {};
}

std::string state_name(st s) {
    std::string n(uapi::enum_name(s).value_or("?"));
    for (auto& c : n) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return n;
}
// "RUNNING -> RUNNING_P2P -> STOP -> RESUMING": the arcs move_to() will take, from the kernel's own table.
std::string path_text(migration::flags_type f, st from, st to) {
    std::string s = state_name(from);
    if (auto p = migration::path(f, from, to))
        for (st x : *p) s += " -> " + state_name(x);
    return s;
}

// A cdev path names its device through /sys/class/vfio-dev/vfioN/device.
std::string link_name(const std::string& path) {
    char buf[PATH_MAX];
    ssize_t n = ::readlink(path.c_str(), buf, sizeof buf - 1);
    if (n <= 0) return {};
    std::string s(buf, static_cast<std::size_t>(n));
    return s.substr(s.rfind('/') + 1);
}
std::string resolve_name(const std::string& arg) {
    constexpr std::string_view prefix = "/dev/vfio/devices/";
    if (arg.rfind(prefix, 0) != 0) return arg;
    std::string n = link_name("/sys/class/vfio-dev/" + arg.substr(prefix.size()) + "/device");
    return n.empty() ? arg : n;
}
std::string read_text(const std::string& path) {
    std::ifstream f(path);
    std::string s;
    std::getline(f, s);
    return s;
}
// What "the same kind" means: a PCI device's vendor:device (and subsystem IDs), an mdev's type.
std::string kind_of(const device_location& loc) {
    if (loc.sysfs.find("/bus/mdev/") != std::string::npos) return "mdev " + link_name(loc.sysfs + "/mdev_type");
    return fmt::format("PCI {}:{} subsystem {}:{}", read_text(loc.sysfs + "/vendor").substr(2), read_text(loc.sysfs + "/device").substr(2),
                       read_text(loc.sysfs + "/subsystem_vendor").substr(2), read_text(loc.sysfs + "/subsystem_device").substr(2));
}

// --src-write INDEX:OFFSET=VALUE and --dst-read INDEX:OFFSET (bytes; numbers in C notation)
struct region_byte {
    std::uint32_t index = 0;
    std::uint64_t offset = 0;
    std::uint8_t value = 0;
};
std::optional<region_byte> parse_region_byte(const std::string& s, bool with_value) {
    region_byte r;
    char* end = nullptr;
    r.index = static_cast<std::uint32_t>(std::strtoul(s.c_str(), &end, 0));
    if (end == s.c_str() || *end != ':') return std::nullopt;
    const char* p = end + 1;
    r.offset = std::strtoull(p, &end, 0);
    if (end == p) return std::nullopt;
    if (!with_value) return *end == '\0' ? std::optional(r) : std::nullopt;
    if (*end != '=') return std::nullopt;
    p = end + 1;
    unsigned long v = std::strtoul(p, &end, 0);
    if (end == p || *end != '\0' || v > 0xff) return std::nullopt;
    r.value = static_cast<std::uint8_t>(v);
    return r;
}

// A byte count on a terminal as a bar against the device's estimate; plain lines otherwise.
struct progress {
    bool tty;
    std::uint64_t total = 0;
    void draw(std::uint64_t done, const char* what) const {
        if (!tty || total == 0) return;
        const std::uint64_t width = 30, fill = std::min<std::uint64_t>(done, total) * width / total;
        fmt::print(stderr, "\r\033[K[{}{}] {} / {} bytes {}", std::string(fill, '#'), std::string(width - fill, ' '), done, total, what);
        std::fflush(stderr);
    }
    void clear() const {
        if (tty && total) fmt::print(stderr, "\r\033[K");
    }
};

// Leaves a device RUNNING whatever happened (a reset when the FSM cannot get there), before it is closed.
struct back_to_running {
    device& dev;
    migration& mig;
    ~back_to_running() {
        if (!mig.query_state() || mig.current() != st::running)
            if (!mig.move_to(st::running)) (void)dev.reset();
    }
};

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"vfio-migrate: moves a device's state into another device of the same kind through the VFIO "
                 "migration state machine (PRE_COPY when offered, STOP_COPY, RESUMING) and checks that the target is "
                 "RUNNING",
                 "vfio-migrate"};
    std::string src_arg, dst_arg, backend_name = "auto";
    bool json_out = false, no_precopy = false, verify = false;
    std::vector<std::string> src_writes, dst_reads;
    app.add_option("SRC", src_arg, "source: PCI address, mdev UUID or cdev path (/dev/vfio/devices/vfioN)")->required();
    app.add_option("DST", dst_arg, "target, of the same kind")->required();
    app.add_option("--backend", backend_name, "auto (iommufd when the kernel has it), type1 or iommufd")
        ->check(CLI::IsMember({"auto", "type1", "iommufd"}));
    app.add_flag("--no-precopy", no_precopy, "go straight to STOP_COPY even when the source offers PRE_COPY");
    app.add_flag("--verify", verify, "after the move, save the target's state again and compare it with the bytes "
                                     "moved (for devices whose stream is deterministic, such as mtty)");
    app.add_option("--src-write", src_writes, "INDEX:OFFSET=VALUE: write a byte into a region of SRC before the move "
                                              "(give a test device a state to recognize); repeatable");
    app.add_option("--dst-read", dst_reads, "INDEX:OFFSET: read a byte of a region of DST after the move and print "
                                            "it; repeatable");
    app.add_flag("--json", json_out, "print one JSON document instead of text");
    app.footer(exit_codes_text);
    // line-buffered even into a file or pipe, so that stdout and stderr lines keep their order in a log
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? exit_ok : exit_usage;
    }
    std::vector<region_byte> writes, reads;
    for (const auto& w : src_writes) {
        auto r = parse_region_byte(w, true);
        if (!r) {
            fmt::print(stderr, "vfio-migrate: --src-write {}: want INDEX:OFFSET=VALUE (e.g. 0:7=0x5a)\n", w);
            return exit_usage;
        }
        writes.push_back(*r);
    }
    for (const auto& w : dst_reads) {
        auto r = parse_region_byte(w, false);
        if (!r) {
            fmt::print(stderr, "vfio-migrate: --dst-read {}: want INDEX:OFFSET (e.g. 0:7)\n", w);
            return exit_usage;
        }
        reads.push_back(*r);
    }
    const backend want = backend_name == "type1" ? backend::type1 : backend_name == "iommufd" ? backend::iommufd : backend::automatic;
    const std::string src_name = resolve_name(src_arg), dst_name = resolve_name(dst_arg);

    json out{{"source", src_name}, {"target", dst_name}};
    auto say = [&](const std::string& s) {
        if (!json_out) fmt::print("{}\n", s);
    };
    auto give_up = [&](const error& e, int code, const std::string& name) {
        std::string hint = hint_for(e, name);
        fmt::print(stderr, "vfio-migrate: {}{}\n", e, hint.empty() ? "" : "\n  " + hint);
        if (json_out) {
            out["error"] = fmt::format("{}", e);
            out["exit_code"] = code;
            fmt::print("{}\n", out.dump(2));
        }
        return code;
    };
    if (src_name == dst_name) {
        fmt::print(stderr, "vfio-migrate: SRC and DST are the same device ({})\n", src_name);
        return exit_usage;
    }

    // sysfs first: no such device, not bound to VFIO and different kinds say more than a failed open would
    auto src_loc = locate_device(src_name);
    if (!src_loc) return give_up(src_loc.error(), exit_code_of(src_loc.error()), src_name);
    auto dst_loc = locate_device(dst_name);
    if (!dst_loc) return give_up(dst_loc.error(), exit_code_of(dst_loc.error()), dst_name);
    const std::string src_kind = kind_of(*src_loc), dst_kind = kind_of(*dst_loc);
    out["kind"] = src_kind;
    if (src_kind != dst_kind) {
        fmt::print(stderr, "vfio-migrate: {} is {} but {} is {}: a migration stream only loads into a device of the same "
                           "kind\n", src_name, src_kind, dst_name, dst_kind);
        out["exit_code"] = exit_different;
        if (json_out) fmt::print("{}\n", out.dump(2));
        return exit_different;
    }

    auto space = dma_space::open(want);
    if (!space) return give_up(space.error(), exit_code_of(space.error()), src_name);
    auto src_dev = space->open_device(src_name);
    if (!src_dev) return give_up(src_dev.error(), exit_code_of(src_dev.error()), src_name);
    auto dst_dev = space->open_device(dst_name);
    if (!dst_dev) return give_up(dst_dev.error(), exit_code_of(dst_dev.error()), dst_name);
    const char* kind = space->kind() == backend::iommufd ? "iommufd" : "type1";
    out["backend"] = kind;
    say(fmt::format("vfio-migrate: {} -> {} ({}, {} backend)", src_name, dst_name, src_kind, kind));

    // No migration driver: VFIO_DEVICE_FEATURE_MIGRATION answers ENOTTY; said plainly, it is the common case.
    // Nothing has been changed yet when this fails: the devices just close.
    auto no_migration = [&](const error& e, const device& d, const std::string& sysfs_dir, const char* role) {
        if (e.code != ENOTTY && e.code != EOPNOTSUPP) return give_up(e, exit_failed, std::string(d.name()));
        std::string drv = link_name(sysfs_dir + "/driver");
        fmt::print(stderr, "vfio-migrate: no migration support: {} {} (driver {}) implements no VFIO migration ({}); "
                           "migration needs a variant driver with migration v2 (mlx5_vfio_pci, hisi_acc_vfio_pci, ...) "
                           "or an mdev driver that has it (mtty)\n",
                   role, d.name(), drv.empty() ? "none" : drv, e);
        out["error"] = fmt::format("no migration support: {}", e);
        out["migration"] = false;
        out["exit_code"] = exit_no_migration;
        if (json_out) fmt::print("{}\n", out.dump(2));
        return exit_no_migration;
    };
    auto src = migration::open(*src_dev);
    if (!src) return no_migration(src.error(), *src_dev, src_loc->sysfs, "source");
    auto dst = migration::open(*dst_dev);
    if (!dst) return no_migration(dst.error(), *dst_dev, dst_loc->sysfs, "target");
    back_to_running src_guard{*src_dev, *src}, dst_guard{*dst_dev, *dst};
    const bool precopy = !no_precopy && src->supports(st::pre_copy);
    std::optional<std::uint64_t> estimate;
    if (auto n = src->data_size()) estimate = *n;
    out["source_flags"] = fmt::format("{}", src->flags());
    out["target_flags"] = fmt::format("{}", dst->flags());
    say(fmt::format("source: migration {}, state {}{}", src->flags(), state_name(src->current()),
                    estimate ? fmt::format(", STOP_COPY estimate {} bytes", *estimate) : ""));
    say(fmt::format("target: migration {}, state {}", dst->flags(), state_name(dst->current())));

    auto fail = [&](const error& e) { return give_up(e, exit_failed, std::string(e.subject.view())); };
    for (const auto& w : writes) {
        auto r = src_dev->region(w.index);
        if (!r) return fail(r.error());
        if (auto x = r->write<std::uint8_t>(w.offset, w.value); !x) return fail(x.error());
        say(fmt::format("source: region {} [{:#x}] <- {:#04x}", w.index, w.offset, w.value));
    }

    progress bar{::isatty(2) == 1 && !json_out, estimate.value_or(0)};
    std::vector<std::byte> image;
    std::uint64_t pre_bytes = 0, stop_bytes = 0;
    auto sink = [&](std::span<const std::byte> s) {
        image.insert(image.end(), s.begin(), s.end());
        bar.draw(image.size(), "read from the source");
    };
    if (precopy) {
        std::string p = path_text(src->flags(), src->current(), st::pre_copy);
        if (auto r = src->move_to(st::pre_copy); !r) return fail(r.error());
        // PRE_COPY: read while the device runs, until the initial data is out (bounded: a device that keeps
        // dirtying gets the rest in STOP_COPY)
        for (int round = 0; round < 16; ++round) {
            auto n = src->save(sink);
            if (!n) return fail(n.error());
            pre_bytes += *n;
            auto info = src->precopy_info();
            if (!info) return fail(info.error());
            if (info->initial_bytes == 0 && *n == 0) break;
        }
        bar.clear();
        say(fmt::format("source: {}: {} bytes read while running (pre-copy)", p, pre_bytes));
    }
    {
        std::string p = path_text(src->flags(), src->current(), st::stop_copy);
        if (auto r = src->move_to(st::stop_copy); !r) return fail(r.error());
        auto n = src->save(sink);
        if (!n) return fail(n.error());
        stop_bytes = *n;
        bar.clear();
        say(fmt::format("source: {}: {} bytes read stopped (stop-copy)", p, stop_bytes));
    }
    {
        std::string p = path_text(dst->flags(), dst->current(), st::resuming);
        if (auto r = dst->move_to(st::resuming); !r) return fail(r.error());
        auto n = dst->load(std::span<const std::byte>(image));
        if (!n) return fail(n.error());
        say(fmt::format("target: {}: {} bytes written", p, *n));
        p = path_text(dst->flags(), dst->current(), st::running);
        if (auto r = dst->move_to(st::running); !r) return fail(r.error());
        say(fmt::format("target: {}", p));
    }
    // the source resumes: see the file comment
    if (auto r = src->move_to(st::running); !r) return fail(r.error());

    auto now = dst->query_state();
    if (!now) return fail(now.error());
    const bool running = *now == st::running;
    out["bytes"] = image.size();
    out["precopy_bytes"] = pre_bytes;
    out["stop_copy_bytes"] = stop_bytes;
    out["precopy_used"] = precopy;
    out["target_state"] = state_name(*now);
    say(fmt::format("target: state {} (MIG_DEVICE_STATE read back)", state_name(*now)));
    int code = running ? exit_ok : exit_not_running;

    if (verify && running) {
        // The target's own stream, saved again, must be the bytes it was given (deterministic devices only)
        std::vector<std::byte> again;
        if (auto r = dst->move_to(st::stop_copy); !r) return fail(r.error());
        auto n = dst->save([&](std::span<const std::byte> s) { again.insert(again.end(), s.begin(), s.end()); });
        if (!n) return fail(n.error());
        if (auto r = dst->move_to(st::running); !r) return fail(r.error());
        const bool same = again == image;
        out["verified"] = same;
        say(fmt::format("verify: {} bytes saved again from the target {} the {} bytes moved", again.size(),
                        same ? "equal" : "DIFFER FROM", image.size()));
        if (!same) code = exit_not_running;
    }
    json read_out = json::array();
    for (const auto& rd : reads) {
        auto r = dst_dev->region(rd.index);
        if (!r) return fail(r.error());
        auto v = r->read<std::uint8_t>(rd.offset);
        if (!v) return fail(v.error());
        read_out.push_back({{"region", rd.index}, {"offset", rd.offset}, {"value", *v}});
        say(fmt::format("target: region {} [{:#x}] = {:#04x}", rd.index, rd.offset, *v));
    }
    if (!reads.empty()) out["reads"] = read_out;
    out["exit_code"] = code;
    if (json_out)
        fmt::print("{}\n", out.dump(2));
    else
        fmt::print("vfio-migrate: moved {} bytes ({} pre-copy + {} stop-copy) from {} to {}; target {}\n", image.size(),
                   pre_bytes, stop_bytes, src_name, dst_name, state_name(*now));
    return code;
}
