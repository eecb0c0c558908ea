// vfio-bind - binds PCI devices to vfio-pci (or unbinds them) through driver_override, group by group, and gives
// them back to the drivers they had.
//
//   vfio-bind 0000:00:03.0                 bind to vfio-pci; the previous driver is remembered in /run/vfio-bind/
//   vfio-bind --group 0000:01:01.0         the whole IOMMU group (bridges are left alone)
//   vfio-bind --unbind 0000:00:03.0        unbind, leaving the device with no driver
//   vfio-bind --restore [DEVICE...]        back to the remembered drivers (all remembered devices when none named)
//   vfio-bind --restore --from saved.json  back to the drivers a `vfio-bind --json` run printed
//
// Why driver_override and never new_id: new_id makes vfio-pci claim every device with that vendor:device (and any
// such device hot-plugged later), and the ID stays in the driver until removed; driver_override names the one device.
// Why the group matters: VFIO hands out a group only when it is viable, that is when every device of it is bound to
// a VFIO driver, to pci-stub or pcieport (which do no DMA of their own), or to no driver. Binding one device while a
// group peer is held by a DMA-capable host driver would give a group VFIO refuses to open; vfio-bind refuses it first
// and names the peers (--group rebinds them too, remembering their drivers).
//
// Exit codes (also in --help): 0 done; 1 a sysfs write or the bind itself failed; 2 bad command line; 3 no such PCI
// device; 4 permission denied (writing sysfs needs root); 5 refused: the group would not be viable (its blockers are
// listed); 6 --restore found nothing remembered for the device.
#include <vfiopp/error.hpp>
#include <vfiopp/fmt_error.hpp>

#include "tool_sysfs.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {
using json = nlohmann::json;

constexpr int exit_ok = 0, exit_failed = 1, exit_usage = 2, exit_no_device = 3, exit_permission = 4,
              exit_not_viable = 5, exit_nothing_remembered = 6;
constexpr const char* exit_codes_text =
    "Exit codes:\n"
    "  0  done (or, with --dry-run, it could be done)\n"
    "  1  a sysfs write or the bind itself failed (what the kernel said is printed)\n"
    "  2  bad command line\n"
    "  3  no such PCI device\n"
    "  4  permission denied: writing driver_override, unbind and drivers_probe needs root\n"
    "  5  refused: the device's IOMMU group would not be viable; the devices bound elsewhere are listed\n"
    "     (rerun with --group to rebind them too)\n"
    "  6  --restore: nothing remembered for the device (no state file, no --from entry)\n";

// ---- sysfs ----
using tool_sysfs::exists;
using tool_sysfs::link_name;
using tool_sysfs::list_dir;
using tool_sysfs::read_text;

// A failed step, made as the library makes its errors (static text only: the error owns no heap): "sysfs" in
// place of the ioctl, the file written as the field, the errno, what to do, and the device it was about.
//   sysfs: driver_override: EACCES (Permission denied): permission denied: binding drivers needs root on 0000:00:03.0
vfiopp::error sysfs_error(std::string_view file, int code, std::string_view advice, std::string_view about) {
    vfiopp::error e{"sysfs", file, code, advice, vfiopp::error_origin::kernel};
    e.about(about);
    return e;
}
// mkdir -p
bool make_dirs(const std::string& path) {
    for (std::size_t i = 1; i <= path.size(); ++i)
        if (i == path.size() || path[i] == '/')
            if (::mkdir(path.substr(0, i).c_str(), 0755) != 0 && errno != EEXIST) return false;
    return true;
}

struct pci_device {
    std::string address, dir;
    std::string driver, override_;  // override_ "" when "(null)"
    std::string pci_class;
    std::optional<unsigned> group;
    [[nodiscard]] bool bridge() const { return pci_class.rfind("0x0604", 0) == 0; }
    [[nodiscard]] bool vfio() const { return driver.rfind("vfio", 0) == 0; }
    // See the file comment: no driver, a VFIO driver, pci-stub and pcieport leave the group viable.
    [[nodiscard]] bool blocks() const {
        return !driver.empty() && !vfio() && driver != "pci-stub" && driver != "pcieport";
    }
};

struct sysfs {
    std::string root;
    bool dry_run = false;
    std::vector<std::string>* log = nullptr;  // what was (or, with --dry-run, would be) written

    [[nodiscard]] std::optional<pci_device> device(const std::string& address) const {
        pci_device d;
        d.address = address;
        d.dir = root + "/bus/pci/devices/" + address;
        if (!exists(d.dir)) return std::nullopt;
        d.driver = link_name(d.dir + "/driver");
        d.override_ = read_text(d.dir + "/driver_override");
        if (d.override_ == "(null)") d.override_.clear();
        d.pci_class = read_text(d.dir + "/class");
        if (auto g = link_name(d.dir + "/iommu_group"); !g.empty()) {
            char* end = nullptr;
            unsigned long n = std::strtoul(g.c_str(), &end, 10);
            if (end != g.c_str() && *end == '\0' && n <= UINT_MAX) d.group = static_cast<unsigned>(n);
        }
        return d;
    }
    [[nodiscard]] std::vector<pci_device> group_devices(unsigned group) const {
        std::vector<pci_device> out;
        for (const auto& name : list_dir(root + "/kernel/iommu_groups/" + std::to_string(group) + "/devices"))
            if (auto d = device(name)) out.push_back(std::move(*d));
        return out;
    }
    // Writes value into dir/file (file: static text, it names the step in errors).
    [[nodiscard]] vfiopp::result<void> write(const std::string& dir, std::string_view file, const std::string& value,
                                             std::string_view about) const {
        std::string path = dir + "/" + std::string(file);
        if (log) log->push_back(fmt::format("{} > {}", value.empty() ? "(empty)" : value, path));
        if (dry_run) return {};
        int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
        if (fd < 0) return sysfs_error(file, errno, advice(errno), about);
        // driver_override takes "\n" to clear it; the other files take the address
        std::string text = value.empty() ? "\n" : value;
        ssize_t n = ::write(fd, text.data(), text.size());
        int code = errno;
        ::close(fd);
        if (n < 0) return sysfs_error(file, code, advice(code), about);
        return {};
    }
    static std::string_view advice(int code) {
        switch (code) {
            case EACCES:
            case EPERM: return "permission denied: binding drivers needs root (sudo vfio-bind ...)";
            case ENODEV: return "the driver refused the device (vfio-pci refuses bridges and devices with no IOMMU group)";
            case EBUSY: return "the device is busy: is it in use by another driver or already bound?";
            case ENOENT: return "no such sysfs file: is the driver loaded (modprobe vfio-pci)?";
            default: return {};
        }
    }
    [[nodiscard]] std::string vfio_pci_dir() const { return root + "/bus/pci/drivers/vfio-pci"; }
};

// ---- what vfio-bind remembers: one small JSON file per device, written before its first change ----
struct remembered {
    std::string address;
    std::string previous_driver;    // "" for none
    std::string previous_override;  // "" for none
};
json to_json(const remembered& r) {
    return {{"address", r.address},
            {"previous_driver", r.previous_driver.empty() ? json(nullptr) : json(r.previous_driver)},
            {"previous_override", r.previous_override.empty() ? json(nullptr) : json(r.previous_override)}};
}
std::optional<remembered> from_json(const json& j) {
    if (!j.is_object() || !j.contains("address") || !j["address"].is_string()) return std::nullopt;
    remembered r;
    r.address = j["address"].get<std::string>();
    if (j.contains("previous_driver") && j["previous_driver"].is_string()) r.previous_driver = j["previous_driver"].get<std::string>();
    if (j.contains("previous_override") && j["previous_override"].is_string())
        r.previous_override = j["previous_override"].get<std::string>();
    return r;
}
struct state_store {
    std::string dir;
    bool dry_run = false;
    [[nodiscard]] std::string path(const std::string& address) const { return dir + "/" + address + ".json"; }
    [[nodiscard]] std::optional<remembered> load(const std::string& address) const {
        std::ifstream f(path(address));
        if (!f) return std::nullopt;
        json j = json::parse(f, nullptr, false);
        return from_json(j);
    }
    // The first change to a device records where it came from; later ones keep that record, so that --restore goes
    // back to the state before vfio-bind, not to an intermediate one (vfio-pci, or no driver after --unbind). A
    // device found on a host driver is remembered afresh: someone bound it there since, and that is the driver to
    // give back.
    [[nodiscard]] vfiopp::result<bool> save_once(const pci_device& d) const {
        if (load(d.address) && (d.driver.empty() || d.vfio())) return false;
        if (dry_run) return true;
        if (!make_dirs(dir)) return sysfs_error("state file", errno, "cannot create the state directory (--state-dir)", d.address);
        std::ofstream f(path(d.address));
        if (!f) return sysfs_error("state file", errno ? errno : EIO, "cannot write the state file (--state-dir)", d.address);
        f << to_json(remembered{d.address, d.driver, d.override_}).dump(2) << "\n";
        return true;
    }
    void forget(const std::string& address) const {
        if (!dry_run) ::unlink(path(address).c_str());
    }
    [[nodiscard]] std::vector<remembered> all() const {
        std::vector<remembered> out;
        for (const auto& f : list_dir(dir))
            if (f.size() > 5 && f.substr(f.size() - 5) == ".json")
                if (auto r = load(f.substr(0, f.size() - 5))) out.push_back(*r);
        return out;
    }
};

// ---- sizes: 512M, 4G, 1048576 ----
std::optional<std::uint64_t> parse_size(const std::string& s) {
    if (s.empty()) return std::nullopt;
    char* end = nullptr;
    unsigned long long v = std::strtoull(s.c_str(), &end, 10);
    if (end == s.c_str()) return std::nullopt;
    std::string unit(end);
    if (unit == "" || unit == "B") return v;
    if (unit == "K" || unit == "KiB" || unit == "k") return v << 10;
    if (unit == "M" || unit == "MiB") return v << 20;
    if (unit == "G" || unit == "GiB") return v << 30;
    if (unit == "T" || unit == "TiB") return v << 40;
    return std::nullopt;
}
std::string human(std::uint64_t v) {
    if (v == RLIM_INFINITY) return "unlimited";
    if (v >= (1ull << 30)) return fmt::format("{:.4g} GiB", static_cast<double>(v) / (1ull << 30));
    if (v >= (1ull << 20)) return fmt::format("{:.4g} MiB", static_cast<double>(v) / (1ull << 20));
    if (v >= (1ull << 10)) return fmt::format("{:.4g} KiB", static_cast<double>(v) / (1ull << 10));
    return fmt::format("{} bytes", v);
}

// CAP_IPC_LOCK (bit 14 of the effective set) lifts the locked-memory limit for both type1 and iommufd pinning.
bool has_cap_ipc_lock() {
    std::ifstream f("/proc/self/status");
    for (std::string line; std::getline(f, line);)
        if (line.rfind("CapEff:", 0) == 0) return (std::strtoull(line.c_str() + 7, nullptr, 16) >> 14) & 1;
    return false;
}
long locked_kb() {
    std::ifstream f("/proc/self/status");
    for (std::string line; std::getline(f, line);)
        if (line.rfind("VmLck:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
    return 0;
}

json memlock_report(std::uint64_t guest, bool text) {
    rlimit rl{};
    ::getrlimit(RLIMIT_MEMLOCK, &rl);
    bool cap = has_cap_ipc_lock();
    bool enough = cap || rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= guest;
    json j{{"soft", rl.rlim_cur == RLIM_INFINITY ? json("unlimited") : json(rl.rlim_cur)},
           {"hard", rl.rlim_max == RLIM_INFINITY ? json("unlimited") : json(rl.rlim_max)},
           {"locked_now", static_cast<std::uint64_t>(locked_kb()) * 1024},
           {"guest_mem", guest},
           {"cap_ipc_lock", cap},
           {"enough", enough}};
    if (text) {
        // Both backends pin all of guest RAM that is mapped for DMA: type1 charges the process's locked_vm, iommufd
        // the user's (or the process's, with IOMMU_OPTION RLIMIT_MODE); RLIMIT_MEMLOCK bounds both unless the VMM
        // has CAP_IPC_LOCK.
        fmt::print("RLIMIT_MEMLOCK: {} may be locked (hard limit {}), {} locked now; a guest of {} pins {}: {}\n",
                   human(rl.rlim_cur), human(rl.rlim_max), human(static_cast<std::uint64_t>(locked_kb()) * 1024),
                   human(guest), human(guest),
                   cap ? "enough here (CAP_IPC_LOCK: no limit applies; a VMM run as another user needs its own limit)"
                   : enough ? "enough"
                            : fmt::format("NOT enough for a VMM started from this shell: raise it (ulimit -l {}, systemd "
                                          "LimitMEMLOCK={}, or memlock in /etc/security/limits.conf)",
                                          guest >> 10, guest));
    }
    return j;
}

std::string node_text(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return path + " (missing)";
    return fmt::format("{} (uid {} gid {} mode {:04o})", path, st.st_uid, st.st_gid, st.st_mode & 07777);
}

struct outcome {
    int code = exit_ok;
    void note(int c) {
        if (code == exit_ok || c > code) code = c;
    }
};

struct binder {
    sysfs fs;
    state_store store;
    bool json_out = false;
    outcome result;
    json devices = json::array();

    void say(const std::string& s) const {
        if (!json_out) fmt::print("{}\n", s);
    }
    void fail(const vfiopp::error& e, json& entry) {
        entry["error"] = fmt::format("{}", e);
        fmt::print(stderr, "vfio-bind: {}\n", e);
        result.note(e.code == EACCES || e.code == EPERM ? exit_permission : exit_failed);
    }
    // Waits for the driver link to settle after drivers_probe (probing is synchronous for vfio-pci, but a driver may
    // probe asynchronously): up to one second.
    std::string driver_after(const std::string& address) const {
        std::string drv;
        for (int i = 0; i < 100; ++i) {
            drv = link_name(fs.root + "/bus/pci/devices/" + address + "/driver");
            if (!drv.empty()) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return drv;
    }

    // driver_override = vfio-pci, unbind from the current driver, drivers_probe; the previous driver remembered.
    void bind(const pci_device& d) {
        json e{{"address", d.address}, {"action", "bind"}, {"previous_driver", d.driver.empty() ? json(nullptr) : json(d.driver)},
               {"previous_override", d.override_.empty() ? json(nullptr) : json(d.override_)}};
        if (d.group) e["group"] = *d.group;
        if (d.bridge()) {
            e["skipped"] = "bridge";
            say(fmt::format("{}: a bridge: left as it is (vfio-pci does not take bridges; one with no driver or pcieport "
                            "keeps the group viable)", d.address));
        } else if (d.driver == "vfio-pci") {
            e["skipped"] = "already bound";
            say(fmt::format("{}: already bound to vfio-pci", d.address));
        } else {
            [&] {
                if (!fs.dry_run && !exists(fs.vfio_pci_dir()))
                    return fail(sysfs_error("drivers/vfio-pci", ENOENT,
                                            "the vfio-pci driver is not loaded: modprobe vfio-pci (and vfio_iommu_type1)",
                                            d.address),
                                e);
                if (auto s = store.save_once(d); !s) return fail(s.error(), e);
                if (auto w = fs.write(d.dir, "driver_override", "vfio-pci", d.address); !w) return fail(w.error(), e);
                if (!d.driver.empty())
                    if (auto w = fs.write(d.dir, "driver/unbind", d.address, d.address); !w) return fail(w.error(), e);
                if (auto w = fs.write(fs.root + "/bus/pci", "drivers_probe", d.address, d.address); !w) return fail(w.error(), e);
                if (fs.dry_run) {
                    say(fmt::format("{}: would bind to vfio-pci (from {})", d.address, d.driver.empty() ? "no driver" : d.driver));
                    return;
                }
                std::string now = driver_after(d.address);
                e["driver"] = now.empty() ? json(nullptr) : json(now);
                if (now != "vfio-pci")
                    return fail(sysfs_error("drivers_probe", ENODEV,
                                            "vfio-pci did not take the device (dmesg says why: no IOMMU group, a bridge, "
                                            "or the group is in use by a host driver)",
                                            d.address),
                                e);
                e["changed"] = true;
                say(fmt::format("{}: bound to vfio-pci (was {}; remembered in {})", d.address,
                                d.driver.empty() ? "no driver" : d.driver, store.path(d.address)));
            }();
        }
        devices.push_back(e);
    }

    // driver_override cleared, unbind: the device is left with no driver (nothing probes it again by itself).
    void unbind(const pci_device& d) {
        json e{{"address", d.address}, {"action", "unbind"}, {"previous_driver", d.driver.empty() ? json(nullptr) : json(d.driver)},
               {"previous_override", d.override_.empty() ? json(nullptr) : json(d.override_)}};
        if (d.group) e["group"] = *d.group;
        if (d.bridge()) {
            e["skipped"] = "bridge";
            say(fmt::format("{}: a bridge: left as it is", d.address));
        } else if (d.driver.empty()) {
            e["skipped"] = "no driver";
            say(fmt::format("{}: already has no driver", d.address));
        } else {
            [&] {
                if (auto s = store.save_once(d); !s) return fail(s.error(), e);
                if (auto w = fs.write(d.dir, "driver_override", "", d.address); !w) return fail(w.error(), e);
                if (auto w = fs.write(d.dir, "driver/unbind", d.address, d.address); !w) return fail(w.error(), e);
                if (fs.dry_run) {
                    say(fmt::format("{}: would unbind from {}", d.address, d.driver));
                    return;
                }
                std::string now = link_name(d.dir + "/driver");
                e["driver"] = now.empty() ? json(nullptr) : json(now);
                if (!now.empty())
                    return fail(sysfs_error("driver/unbind", EBUSY, "the device is still bound", d.address), e);
                e["changed"] = true;
                say(fmt::format("{}: unbound from {}, now no driver (remembered in {})", d.address, d.driver,
                                store.path(d.address)));
            }();
        }
        devices.push_back(e);
    }

    // Back to what was remembered: driver_override set to the previous driver (so that exactly it binds, also one
    // that was bound by override), unbind, drivers_probe, then driver_override as it was.
    void restore(const pci_device& d, const remembered& r) {
        json e{{"address", d.address}, {"action", "restore"},
               {"previous_driver", d.driver.empty() ? json(nullptr) : json(d.driver)},
               {"restored_driver", r.previous_driver.empty() ? json(nullptr) : json(r.previous_driver)}};
        if (d.group) e["group"] = *d.group;
        [&] {
            if (d.driver == r.previous_driver && d.override_ == r.previous_override) {
                e["skipped"] = "already as remembered";
                say(fmt::format("{}: already on {} as remembered", d.address, d.driver.empty() ? "no driver" : d.driver));
                store.forget(d.address);
                return;
            }
            if (d.driver != r.previous_driver) {
                if (auto w = fs.write(d.dir, "driver_override", r.previous_driver, d.address); !w) return fail(w.error(), e);
                if (!d.driver.empty())
                    if (auto w = fs.write(d.dir, "driver/unbind", d.address, d.address); !w) return fail(w.error(), e);
                if (!r.previous_driver.empty())
                    if (auto w = fs.write(fs.root + "/bus/pci", "drivers_probe", d.address, d.address); !w) return fail(w.error(), e);
            }
            if (auto w = fs.write(d.dir, "driver_override", r.previous_override, d.address); !w) return fail(w.error(), e);
            if (fs.dry_run) {
                say(fmt::format("{}: would go back to {}", d.address, r.previous_driver.empty() ? "no driver" : r.previous_driver));
                return;
            }
            std::string now = r.previous_driver.empty() ? link_name(d.dir + "/driver") : driver_after(d.address);
            e["driver"] = now.empty() ? json(nullptr) : json(now);
            if (now != r.previous_driver)
                return fail(sysfs_error("drivers_probe", ENODEV,
                                        "the remembered driver did not take the device back (is it loaded? dmesg says why)",
                                        d.address),
                            e);
            e["changed"] = true;
            store.forget(d.address);
            say(fmt::format("{}: restored to {} (was {})", d.address, now.empty() ? "no driver" : now,
                            d.driver.empty() ? "no driver" : d.driver));
        }();
        devices.push_back(e);
    }
};

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"vfio-bind: binds PCI devices to vfio-pci (driver_override, never new_id), or unbinds them, group by "
                 "group; remembers their drivers and restores them; reports the VFIO nodes and whether RLIMIT_MEMLOCK "
                 "is enough for a guest",
                 "vfio-bind"};
    std::vector<std::string> addresses;
    bool unbind = false, restore = false, whole_group = false, dry_run = false, json_out = false;
    std::string from, state_dir = "/run/vfio-bind", sysfs_root = "/sys", guest_mem = "1G";
    app.add_option("DEVICE", addresses, "PCI addresses (0000:00:03.0)");
    auto* o_unbind = app.add_flag("--unbind", unbind, "unbind from vfio-pci and leave the devices with no driver");
    auto* o_restore = app.add_flag("--restore", restore,
                                   "give the devices back to the drivers they had before vfio-bind first changed them "
                                   "(every remembered device when none is named)");
    o_unbind->excludes(o_restore);
    app.add_option("--from", from, "with --restore: read the previous drivers from this file (the output of "
                                   "vfio-bind --json, or a state file) instead of --state-dir")
        ->check(CLI::ExistingFile);
    app.add_flag("-g,--group", whole_group, "act on every device of each named device's IOMMU group (bridges are left "
                                            "alone); needed when a group peer is bound to another driver");
    app.add_option("--guest-mem", guest_mem, "guest RAM the RLIMIT_MEMLOCK check is for (512M, 4G, bytes)");
    app.add_option("--state-dir", state_dir, "where the previous drivers are remembered (one JSON file per device)");
    app.add_flag("-n,--dry-run", dry_run, "print what would be written, change nothing");
    app.add_flag("--json", json_out, "print one JSON document (keep it: --restore --from FILE reads it)");
    app.add_option("--sysfs", sysfs_root, "sysfs root (tests point it at a fake tree)");
    app.footer(exit_codes_text);
    // line-buffered even into a file or pipe, so that stdout and stderr lines keep their order in a log
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? exit_ok : exit_usage;
    }
    auto guest = parse_size(guest_mem);
    if (!guest) {
        fmt::print(stderr, "vfio-bind: --guest-mem {}: not a size (512M, 4G, 1048576)\n", guest_mem);
        return exit_usage;
    }
    if (addresses.empty() && !restore) {
        fmt::print(stderr, "vfio-bind: name at least one PCI device (vfio-ls lists them); --help for more\n");
        return exit_usage;
    }

    std::vector<std::string> written;
    binder b;
    b.fs = sysfs{sysfs_root, dry_run, &written};
    b.store = state_store{state_dir, dry_run};
    b.json_out = json_out;
    json groups_out = json::array();

    // --restore: what to restore, from --from or the state files
    std::vector<remembered> memory;
    if (restore) {
        if (!from.empty()) {
            std::ifstream f(from);
            json j = json::parse(f, nullptr, false);
            if (j.is_discarded()) {
                fmt::print(stderr, "vfio-bind: --from {}: not JSON (give it the output of vfio-bind --json or a state file)\n", from);
                return exit_usage;
            }
            if (j.contains("devices") && j["devices"].is_array()) {
                // a --json run lists every device it looked at: only those it changed have a driver to go back to
                for (const auto& d : j["devices"])
                    if (d.is_object() && d.value("changed", false) && d.value("action", "") != "restore")
                        if (auto r = from_json(d)) memory.push_back(*r);
            } else if (auto r = from_json(j)) {
                memory.push_back(*r);
            }
        } else {
            memory = b.store.all();
        }
        if (addresses.empty())
            for (const auto& r : memory) addresses.push_back(r.address);
        if (addresses.empty()) {
            fmt::print(stderr, "vfio-bind: --restore: nothing remembered in {}\n", from.empty() ? state_dir : from);
            return exit_nothing_remembered;
        }
    }

    // The devices to act on, grouped: with --group every device of each named device's group.
    std::vector<unsigned> seen_groups;
    for (const auto& address : addresses) {
        auto d = b.fs.device(address);
        if (!d) {
            bool mdev = exists(sysfs_root + "/bus/mdev/devices/" + address);
            fmt::print(stderr, "vfio-bind: {}: {}\n", address,
                       mdev ? "an mdev: it is always bound to its parent's VFIO driver, there is nothing to bind"
                            : "no such PCI device (expected DDDD:BB:DD.F; vfio-ls or lspci -D lists them)");
            b.result.note(exit_no_device);
            continue;
        }
        if (!d->group) {
            fmt::print(stderr, "vfio-bind: {}: the device has no IOMMU group: boot with the IOMMU on (intel_iommu=on / "
                               "amd_iommu=on); vfio-pci cannot take it\n", address);
            b.result.note(exit_failed);
            continue;
        }
        auto peers = b.fs.group_devices(*d->group);
        std::vector<pci_device> targets;
        if (whole_group) {
            if (std::find(seen_groups.begin(), seen_groups.end(), *d->group) != seen_groups.end()) continue;
            seen_groups.push_back(*d->group);
            targets = peers;
        } else {
            targets.push_back(*d);
        }
        auto targeted = [&](const std::string& a) {
            return std::any_of(targets.begin(), targets.end(), [&](const auto& t) { return t.address == a; });
        };

        if (!unbind && !restore) {
            // Binding: every peer left as it is must keep the group viable.
            std::vector<const pci_device*> blockers;
            for (const auto& p : peers)
                if (!targeted(p.address) && p.blocks()) blockers.push_back(&p);
            if (!blockers.empty()) {
                std::string list;
                for (const auto* p : blockers) list += fmt::format("\n  {} bound to {}", p->address, p->driver);
                fmt::print(stderr,
                           "vfio-bind: {}: refused: IOMMU group {} would not be viable. VFIO opens a group only when "
                           "every device of it is bound to vfio-pci, pci-stub or pcieport, or to no driver; these are "
                           "not:{}\n  rerun with --group to bind them to vfio-pci too (their drivers are remembered for "
                           "--restore), or unbind them first (vfio-bind --unbind ADDRESS)\n",
                           address, *d->group, list);
                json bl = json::array();
                for (const auto* p : blockers) bl.push_back({{"device", p->address}, {"driver", p->driver}});
                b.devices.push_back({{"address", address}, {"action", "bind"}, {"group", *d->group}, {"refused", "group not viable"},
                                     {"blockers", bl}});
                b.result.note(exit_not_viable);
                continue;
            }
            for (const auto& p : peers)
                if (!targeted(p.address) && !p.bridge() && p.driver.empty())
                    b.say(fmt::format("{}: group {} peer {} has no driver: the group stays viable (use --group to bind "
                                      "it too)", address, *d->group, p.address));
        }
        for (const auto& t : targets) {
            if (restore) {
                auto r = std::find_if(memory.begin(), memory.end(), [&](const auto& m) { return m.address == t.address; });
                if (r == memory.end()) {
                    if (!whole_group || t.address == address) {
                        fmt::print(stderr, "vfio-bind: {}: --restore: nothing remembered for it in {}\n", t.address,
                                   from.empty() ? state_dir : from);
                        b.result.note(exit_nothing_remembered);
                    }
                    continue;
                }
                b.restore(t, *r);
            } else if (unbind) {
                b.unbind(t);
            } else {
                b.bind(t);
            }
        }
    }

    // The groups touched, as they are now: viability, the group node, each device's driver and cdev.
    std::vector<unsigned> groups;
    for (const auto& d : b.devices)
        if (d.contains("group") && std::find(groups.begin(), groups.end(), d["group"].get<unsigned>()) == groups.end())
            groups.push_back(d["group"].get<unsigned>());
    std::sort(groups.begin(), groups.end());
    for (unsigned g : groups) {
        auto devs = b.fs.group_devices(g);
        bool viable = std::none_of(devs.begin(), devs.end(), [](const auto& d) { return d.blocks(); });
        std::string node = "/dev/vfio/" + std::to_string(g);
        // devtmpfs creates the node when the first device of the group binds to vfio-pci; give it a moment
        for (int i = 0; i < 50 && !dry_run && !exists(node) && std::any_of(devs.begin(), devs.end(), [](const auto& d) { return d.vfio(); }); ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        json gj{{"group", g}, {"viable", viable}, {"node", exists(node) ? json(node) : json(nullptr)}, {"devices", json::array()}};
        bool any_vfio = std::any_of(devs.begin(), devs.end(), [](const auto& d) { return d.vfio(); });
        b.say(fmt::format("group {}: {}, node {}", g, viable ? "viable" : "NOT viable",
                          exists(node) ? node_text(node)
                          : any_vfio   ? node + " missing (is devtmpfs mounted, or udev running?)"
                                       : "none (no device of the group is bound to vfio-pci)"));
        for (const auto& d : devs) {
            std::string cdev;
            for (const auto& e : list_dir(d.dir + "/vfio-dev"))
                if (e.rfind("vfio", 0) == 0) cdev = "/dev/vfio/devices/" + e;
            bool cdev_node = !cdev.empty() && exists(cdev);
            gj["devices"].push_back({{"address", d.address}, {"driver", d.driver.empty() ? json(nullptr) : json(d.driver)},
                                     {"cdev", cdev_node ? json(cdev) : json(nullptr)}});
            b.say(fmt::format("  {}  driver {}{}", d.address, d.driver.empty() ? "none" : d.driver,
                              cdev_node ? "  cdev " + node_text(cdev)
                              : cdev.empty() ? ""
                                             : "  cdev none (this kernel has no VFIO cdevs: CONFIG_VFIO_DEVICE_CDEV, 6.6+)"));
        }
        groups_out.push_back(gj);
    }
    if (!json_out && dry_run)
        for (const auto& w : written) fmt::print("would write: {}\n", w);
    json mem = memlock_report(*guest, !json_out);
    const char* action = restore ? "restore" : unbind ? "unbind" : "bind";
    std::size_t changed = 0;
    for (const auto& d : b.devices) changed += d.value("changed", false);
    if (json_out) {
        json out{{"action", action}, {"dry_run", dry_run}, {"devices", b.devices}, {"groups", groups_out},
                 {"memlock", mem},   {"state_dir", state_dir}, {"exit_code", b.result.code}};
        if (dry_run) out["would_write"] = written;
        fmt::print("{}\n", out.dump(2));
    } else {
        fmt::print("vfio-bind: {}{}: {} device{} changed, exit {}\n", action, dry_run ? " (dry run)" : "", changed,
                   changed == 1 ? "" : "s", b.result.code);
    }
    return b.result.code;
}
