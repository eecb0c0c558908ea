// vfio-ls - lspci for VFIO: the IOMMU groups, their devices, drivers, nodes and viability, read from sysfs; with -v
// (or for the devices named on the command line) each VFIO device is opened read-only through a dma_space and its
// regions, IRQs, migration support and the IOMMU behind it are shown (type1: VFIO_IOMMU_GET_INFO's capabilities;
// iommufd: the IOAS's IOVA ranges and IOMMU_GET_HW_INFO with the VT-d registers decoded).
//
//   vfio-ls                           every group and device (sysfs only: opens nothing)
//   vfio-ls -v                        + every device bound to a VFIO driver, opened
//   vfio-ls 0000:00:03.0 UUID /dev/vfio/devices/vfio2   those devices, opened
//   vfio-ls --json [...]              the same as one JSON document (for scripts)
//
// Exit codes (also in --help): 0 listed (and every device asked for inspected); 1 a device could not be opened or
// inspected (the library's error, with its advice, is printed); 2 bad command line; 3 a named device does not
// exist; 4 permission denied on a VFIO node; 5 a named device is not bound to a VFIO driver, or its group is not
// viable.
//
// vfio-ls changes nothing of its own: the device is opened, queried and closed (no mapping, no IRQ, no migration
// state change). vfio-pci itself enables the device on open and resets it on open and close when it has a reset
// method, and VFIO allows one opener: do not point -v at a device a VMM holds (the open then fails with EBUSY).
#include <vfiopp/dma_space.hpp>
#include <vfiopp/fmt.hpp>
#include <vfiopp/fmt_error.hpp>
#include <vfiopp/hw_info.hpp>
#include <vfiopp/io/negotiate.hpp>
#include <vfiopp/migration.hpp>
#include <vfiopp/wire/caps.hpp>
#include <vfiopp/wire/vfio.hpp>

#include "tool_sysfs.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

namespace {
using namespace vfiopp;
using json = nlohmann::json;

constexpr int exit_ok = 0, exit_failed = 1, exit_usage = 2, exit_no_device = 3, exit_permission = 4, exit_not_vfio = 5;
constexpr const char* exit_codes_text =
    "Exit codes:\n"
    "  0  listed, and every device asked for was inspected\n"
    "  1  a device could not be opened or inspected (the error and what to do are printed)\n"
    "  2  bad command line\n"
    "  3  a device named on the command line does not exist\n"
    "  4  permission denied on a VFIO node (/dev/vfio/N, /dev/vfio/devices/vfioN, /dev/iommu)\n"
    "  5  a device named on the command line is not bound to a VFIO driver, or its group is not viable\n";

// ---- sysfs ----
using tool_sysfs::exists;
using tool_sysfs::link_name;
using tool_sysfs::list_dir;
using tool_sysfs::read_text;
std::string strip_0x(std::string s) { return s.rfind("0x", 0) == 0 ? s.substr(2) : s; }

struct sysfs_device {
    std::string name;    // PCI address or mdev UUID
    std::string dir;     // its sysfs directory
    std::string bus;     // "pci" or "mdev"
    std::string driver;  // "" when none
    std::string vendor, device, pci_class;  // PCI: "1234", "11e8", "00ff00"
    std::string mdev_type, parent;          // mdev: "mtty-2", "mtty"
    std::optional<unsigned> group;
    std::string cdev;  // /dev/vfio/devices/vfioN, only when the node exists (6.1 has vfio-dev in sysfs, no node)

    [[nodiscard]] bool bridge() const { return pci_class.rfind("0604", 0) == 0; }
    // An mdev's driver is its parent's VFIO driver (mtty, kvmgt): it is a VFIO device whatever the name says.
    [[nodiscard]] bool vfio_bound() const {
        return bus == "mdev" || driver.rfind("vfio", 0) == 0 || exists(dir + "/vfio-dev");
    }
    // What keeps a group from being viable: a PCI device bound to a driver that is not a VFIO one nor on the
    // kernel's harmless list (pci-stub, pcieport: they do no DMA of their own). No driver is fine.
    [[nodiscard]] bool blocks() const {
        return bus == "pci" && !driver.empty() && !vfio_bound() && driver != "pci-stub" && driver != "pcieport";
    }
};

struct sysfs_group {
    unsigned number = 0;
    std::vector<sysfs_device> devices;
    [[nodiscard]] std::string node() const { return "/dev/vfio/" + std::to_string(number); }
    [[nodiscard]] bool has_node() const { return exists(node()); }
    [[nodiscard]] bool viable() const {
        return std::none_of(devices.begin(), devices.end(), [](const auto& d) { return d.blocks(); });
    }
};

std::optional<sysfs_device> read_device(const std::string& root, const std::string& name) {
    sysfs_device d;
    d.name = name;
    for (const char* bus : {"pci", "mdev"}) {
        std::string p = root + "/bus/" + bus + "/devices/" + name;
        if (exists(p)) {
            d.dir = p;
            d.bus = bus;
            break;
        }
    }
    if (d.dir.empty()) return std::nullopt;
    d.driver = link_name(d.dir + "/driver");
    if (d.bus == "pci") {
        d.vendor = strip_0x(read_text(d.dir + "/vendor"));
        d.device = strip_0x(read_text(d.dir + "/device"));
        d.pci_class = strip_0x(read_text(d.dir + "/class"));
    } else {
        d.mdev_type = link_name(d.dir + "/mdev_type");
        char real[PATH_MAX];
        if (::realpath(d.dir.c_str(), real) != nullptr) {
            std::string r(real);
            r = r.substr(0, r.rfind('/'));
            d.parent = r.substr(r.rfind('/') + 1);
        }
    }
    if (auto g = link_name(d.dir + "/iommu_group"); !g.empty()) {
        char* end = nullptr;
        unsigned long n = std::strtoul(g.c_str(), &end, 10);
        if (end != g.c_str() && *end == '\0' && n <= UINT_MAX) d.group = static_cast<unsigned>(n);
    }
    for (const auto& e : list_dir(d.dir + "/vfio-dev"))
        if (e.rfind("vfio", 0) == 0 && exists("/dev/vfio/devices/" + e)) d.cdev = "/dev/vfio/devices/" + e;
    return d;
}

std::vector<sysfs_group> read_groups(const std::string& root) {
    std::vector<sysfs_group> out;
    for (const auto& g : list_dir(root + "/kernel/iommu_groups")) {
        char* end = nullptr;
        unsigned long n = std::strtoul(g.c_str(), &end, 10);
        if (end == g.c_str() || *end != '\0') continue;
        sysfs_group grp;
        grp.number = static_cast<unsigned>(n);
        for (const auto& name : list_dir(root + "/kernel/iommu_groups/" + g + "/devices"))
            if (auto d = read_device(root, name)) grp.devices.push_back(std::move(*d));
        out.push_back(std::move(grp));
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.number < b.number; });
    return out;
}

// A cdev path names its device through /sys/class/vfio-dev/vfioN/device.
std::string resolve_name(const std::string& root, const std::string& arg) {
    constexpr std::string_view prefix = "/dev/vfio/devices/";
    if (arg.rfind(prefix, 0) != 0) return arg;
    return link_name(root + "/class/vfio-dev/" + arg.substr(prefix.size()) + "/device");
}

// ---- text helpers ----
std::string human(std::uint64_t v) {
    if (v >= (1ull << 30) && v % (1ull << 30) == 0) return fmt::format("{}G", v >> 30);
    if (v >= (1ull << 20) && v % (1ull << 20) == 0) return fmt::format("{}M", v >> 20);
    if (v >= (1ull << 10) && v % (1ull << 10) == 0) return fmt::format("{}K", v >> 10);
    return fmt::format("{}", v);
}
std::string page_sizes(std::uint64_t bitmap) {
    std::string s;
    for (unsigned b = 0; b < 64; ++b)
        if (bitmap & (1ull << b)) {
            if (!s.empty()) s += ' ';  // not `" " + human(...)`: GCC 12 -O3 reports a false -Wrestrict on that
            s += human(1ull << b);
        }
    return s.empty() ? "none" : s;
}
std::string region_name(bool pci, std::uint32_t i) {
    if (pci && i < 9) {
        if (auto n = uapi::enum_name(static_cast<uapi::pci_region_index>(i))) {
            std::string s(*n);
            if (s.rfind("bar", 0) == 0) return "BAR" + s.substr(3);
            return s == "config" ? s : s == "rom" ? "ROM" : "VGA";
        }
    }
    return "region " + std::to_string(i);
}
std::string irq_name(bool pci, std::uint32_t i) {
    constexpr std::string_view pci_names[] = {"INTx", "MSI", "MSI-X", "ERR", "REQ"};  // pci_irq_index order
    if (pci && i < std::size(pci_names)) return std::string(pci_names[i]);
    return "irq " + std::to_string(i);
}

// ---- exit codes from the library's errors ----
int exit_code_of(const error& e) {
    if (e.code == EACCES || e.code == EPERM) return exit_permission;
    if (e.ioctl == "locate_device" && e.code == ENOENT) return exit_no_device;
    if (e.ioctl == "locate_device" && e.field == "driver") return exit_not_vfio;
    if (e.ioctl == uapi::vfio::group_get_status.name && e.field == "flags") return exit_not_vfio;  // not viable
    return exit_failed;
}
// One more line of what to do, beyond the library's advice, for the errors a person meets first.
std::string hint_for(const error& e, const std::string& name) {
    if (e.code == EACCES || e.code == EPERM)
        return "run vfio-ls as root, or give your user the VFIO nodes (vfio-bind prints them; e.g. chown $USER "
               "/dev/vfio/N /dev/vfio/devices/vfioN)";
    if (e.ioctl == "locate_device" && e.field == "driver") return "bind it with: vfio-bind " + name;
    if (e.ioctl == uapi::vfio::group_get_status.name && e.field == "flags")
        return "bind the whole group with: vfio-bind --group " + name;
    if (e.code == EBUSY) return "another process (a VMM) holds the device or its group open; VFIO allows one opener";
    return {};
}

struct failure {
    int code = exit_ok;
    void note(int c) {
        if (code == exit_ok || c > code) code = c;
    }
};

// ---- inspection of one opened device ----
struct inspector {
    bool json_out;
    std::string indent = "    ";
    void line(const std::string& s) const {
        if (!json_out) fmt::print("{}{}\n", indent, s);
    }

    json regions(const device& dev, const device_info& info) const {
        json out = json::array();
        for (std::uint32_t i = 0; i < info.num_regions; ++i) {
            auto req = wire::vfio::device_get_region_info<1024>(i);
            json r{{"index", i}, {"name", region_name(info.is_pci(), i)}};
            if (auto n = io::negotiate(dev.fd(), req, dev.hook()); !n) {
                // vfio-pci answers EINVAL for the VGA region of a device without VGA: a hole, not an error
                r["error"] = fmt::format("{}", n.error());
                if (n.error().code == EINVAL) {
                    r["implemented"] = false;
                    line(fmt::format("{}: not present (VFIO_DEVICE_GET_REGION_INFO answers EINVAL)", region_name(info.is_pci(), i)));
                } else {
                    line(fmt::format("{}: {}", region_name(info.is_pci(), i), n.error()));
                }
                out.push_back(r);
                continue;
            }
            auto chain = wire::region_info_chain::parse(req.bytes());
            if (!chain) {
                r["error"] = fmt::format("{}", chain.error());
                out.push_back(r);
                continue;
            }
            const auto& h = chain->reply();
            r["size"] = h.size;
            r["offset"] = h.offset;
            r["flags"] = fmt::format("{}", h.flags);
            if (h.size == 0) {
                r["implemented"] = false;
                out.push_back(r);
                continue;  // not implemented by the device: listed in JSON, left out of the text
            }
            line(fmt::format("{}: size {:#x} ({}) offset {:#x} flags {}", region_name(info.is_pci(), i), h.size,
                             human(h.size), h.offset, h.flags));
            json caps = json::array();
            for (const auto& cap : *chain) {
                std::visit(
                    [&](const auto& c) {
                        using C = std::remove_cvref_t<decltype(c)>;
                        if constexpr (std::is_same_v<C, wire::sparse_mmap_cap>) {
                            json areas = json::array();
                            std::string t;
                            for (auto a : c.areas) {
                                areas.push_back({{"offset", a.offset}, {"size", a.size}});
                                t += fmt::format(" [{:#x}, +{:#x}]", a.offset, a.size);
                            }
                            caps.push_back({{"cap", "sparse_mmap"}, {"areas", areas}});
                            line(fmt::format("  sparse mmap: {} area{}{}", c.areas.size(), c.areas.size() == 1 ? "" : "s",
                                             t.empty() ? " (nothing may be mmapped)" : t));
                        } else if constexpr (std::is_same_v<C, wire::region_type_cap>) {
                            caps.push_back({{"cap", "type"}, {"type", c.value.type}, {"subtype", c.value.subtype}});
                            line(fmt::format("  type {:#x} subtype {:#x}", c.value.type, c.value.subtype));
                        } else if constexpr (std::is_same_v<C, wire::msix_mappable_cap>) {
                            caps.push_back({{"cap", "msix_mappable"}});
                            line("  MSI-X table mappable");
                        } else {
                            caps.push_back({{"cap", "unknown"}, {"id", c.id()}, {"version", c.version()}});
                            line(fmt::format("  capability id {} version {}", c.id(), c.version()));
                        }
                    },
                    cap);
            }
            r["caps"] = caps;
            out.push_back(r);
        }
        return out;
    }

    json irqs(const device& dev, const device_info& info) const {
        json out = json::array();
        for (std::uint32_t i = 0; i < info.num_irqs; ++i) {
            auto q = dev.interrupts(i);
            if (!q) {
                // vfio-pci 6.1 answers EINVAL for ERR on conventional PCI, mtty for every index past MSI: an index
                // the device does not have, shown as such
                out.push_back({{"index", i}, {"name", irq_name(info.is_pci(), i)}, {"error", fmt::format("{}", q.error())}});
                if (q.error().code == EINVAL)
                    line(fmt::format("{}: not present (VFIO_DEVICE_GET_IRQ_INFO answers EINVAL)", irq_name(info.is_pci(), i)));
                else
                    line(fmt::format("{}: {}", irq_name(info.is_pci(), i), q.error()));
                continue;
            }
            const auto& ii = q->info();
            out.push_back({{"index", i}, {"name", irq_name(info.is_pci(), i)}, {"count", ii.count},
                           {"flags", fmt::format("{}", ii.flags)}});
            line(fmt::format("{}: count {} flags {}", irq_name(info.is_pci(), i), ii.count, ii.flags));
        }
        return out;
    }

    json migration_info(const device& dev) const {
        auto m = migration::open(dev);
        if (!m) {
            bool none = m.error().code == ENOTTY;
            line(none ? "migration: none (no migration driver: VFIO_DEVICE_FEATURE_MIGRATION answers ENOTTY)"
                      : fmt::format("migration: {}", m.error()));
            return {{"supported", false}, {"error", fmt::format("{}", m.error())}};
        }
        json j{{"supported", true},
               {"flags", fmt::format("{}", m->flags())},
               {"state", std::string(uapi::enum_name(m->current()).value_or("?"))}};
        std::string size;
        if (auto s = m->data_size()) {
            j["stop_copy_bytes"] = *s;
            size = fmt::format(", STOP_COPY estimate {} bytes", *s);
        }
        line(fmt::format("migration: {} (state {}){}", m->flags(), j["state"].get<std::string>(), size));
        return j;
    }

    json type1_info(dma_space& space) const {
        auto info = space.type1()->info();
        if (!info) {
            line(fmt::format("IOMMU (type1): {}", info.error()));
            return {{"backend", "type1"}, {"error", fmt::format("{}", info.error())}};
        }
        json ranges = json::array();
        std::string rt;
        for (auto r : info->iova_ranges) {
            ranges.push_back({{"start", r.start}, {"last", r.last}});
            rt += fmt::format(" [{:#x}, {:#x}]", r.start, r.last);
        }
        json j{{"backend", "type1"}, {"iova_pgsizes", info->iova_pgsizes}, {"iova_ranges", ranges}};
        line(fmt::format("IOMMU (type1 container): page sizes {:#x} ({})", info->iova_pgsizes, page_sizes(info->iova_pgsizes)));
        line(fmt::format("  IOVA ranges:{}", rt.empty() ? " not reported" : rt));
        if (info->dma_avail) {
            j["dma_avail"] = *info->dma_avail;
            line(fmt::format("  DMA mappings available: {}", *info->dma_avail));
        }
        if (info->dirty_pgsizes) {
            j["migration"] = {{"dirty_pgsizes", *info->dirty_pgsizes}, {"max_dirty_bitmap_size", info->max_dirty_bitmap_size}};
            line(fmt::format("  dirty tracking (CAP_MIGRATION): page sizes {}, bitmap up to {} bytes",
                             page_sizes(*info->dirty_pgsizes), info->max_dirty_bitmap_size));
        }
        return j;
    }

    json iommufd_info(dma_space& space, const device& dev, bool mdev) const {
        json j{{"backend", "iommufd"}};
        if (auto r = space.iova_ranges()) {
            json ranges = json::array();
            std::string rt;
            for (auto x : r->ranges) {
                ranges.push_back({{"start", x.start}, {"last", x.last}});
                rt += fmt::format(" [{:#x}, {:#x}]", x.start, x.last);
            }
            j["iova_ranges"] = ranges;
            j["iova_alignment"] = r->alignment;
            line(fmt::format("IOMMU (iommufd IOAS): alignment {:#x}, IOVA ranges:{}", r->alignment, rt));
        } else {
            j["iova_ranges_error"] = fmt::format("{}", r.error());
            line(fmt::format("IOMMU (iommufd IOAS): {}", r.error()));
        }
        if (mdev) {
            // An mdev is bound as an emulated device (an iommufd access, not a device object): its DMA goes through
            // its parent driver, and there is no IOMMU hardware to ask (GET_HW_INFO would answer ENOENT).
            j["hw_info"] = nullptr;
            line("IOMMU_GET_HW_INFO: none (an mdev's DMA goes through its parent driver: emulated IOMMU)");
            return j;
        }
        auto hw = get_hw_info(*space.context(), dev.dev_id());
        if (!hw) {
            j["hw_info_error"] = fmt::format("{}", hw.error());
            line(fmt::format("IOMMU_GET_HW_INFO: {}", hw.error()));
            return j;
        }
        json h{{"type", std::string(uapi::enum_name(hw->type).value_or("unknown"))},
               {"type_value", static_cast<std::uint32_t>(hw->type)},
               {"capabilities", fmt::format("{}", hw->capabilities)},
               {"max_pasid_log2", hw->max_pasid_log2},
               {"data_len", hw->data_len}};
        line(fmt::format("IOMMU_GET_HW_INFO: type {} ({}), capabilities {}, max PASID bits {}, {} bytes of data",
                         h["type"].get<std::string>(), static_cast<std::uint32_t>(hw->type), hw->capabilities,
                         hw->max_pasid_log2, hw->data_len));
        if (const auto* vtd = std::get_if<vtd_hw_info>(&hw->data)) {
            json cap, ecap;
            std::string ct, et;
            vtd->cap.for_each_field([&](std::string_view n, std::uint64_t v) {
                cap[std::string(n)] = v;
                if (v) ct += fmt::format(" {}={}", n, v);
            });
            vtd->ecap.for_each_field([&](std::string_view n, std::uint64_t v) {
                ecap[std::string(n)] = v;
                if (v) et += fmt::format(" {}={}", n, v);
            });
            h["vtd"] = {{"flags", fmt::format("{}", vtd->flags)}, {"cap_reg", vtd->cap_reg}, {"ecap_reg", vtd->ecap_reg},
                        {"cap", cap}, {"ecap", ecap}, {"num_domains", vtd->cap.num_domains()}};
            line(fmt::format("  VT-d cap_reg {:#018x}:{}", vtd->cap_reg, ct));
            line(fmt::format("  VT-d ecap_reg {:#018x}:{}", vtd->ecap_reg, et));
            line(fmt::format("  VT-d: {}-bit guest addresses, {} domains, {}{}{}", vtd->cap.mgaw, vtd->cap.num_domains(),
                             vtd->ecap.smts ? "scalable mode" : "legacy mode", vtd->ecap.nest ? ", nesting" : ", no nesting",
                             vtd->ecap.slads ? ", dirty tracking" : ", no dirty tracking"));
        }
        j["hw_info"] = h;
        return j;
    }

    // Opens name in a fresh dma_space of the asked backend and reads everything; the device is closed on return.
    result<json> inspect(const std::string& name, backend b, bool mdev) const {
        auto space = dma_space::open(b);
        if (!space) return space.error();
        auto dev = space->open_device(name);
        if (!dev) return dev.error();
        auto info = dev->info();
        if (!info) return info.error();
        const bool iommufd = space->kind() == backend::iommufd;
        json j{{"backend", iommufd ? "iommufd" : "type1"},
               {"flags", fmt::format("{}", info->flags)},
               {"num_regions", info->num_regions},
               {"num_irqs", info->num_irqs}};
        if (iommufd) j["dev_id"] = dev->dev_id();
        if (info->pci_atomic_comp) j["pci_atomic_comp"] = fmt::format("{}", *info->pci_atomic_comp);
        line(fmt::format("opened ({}{}): flags {}, {} regions, {} IRQ indexes", iommufd ? "iommufd" : "type1",
                         iommufd ? fmt::format(", dev_id {}", dev->dev_id()) : "", info->flags, info->num_regions,
                         info->num_irqs));
        j["regions"] = regions(*dev, *info);
        j["irqs"] = irqs(*dev, *info);
        j["migration"] = migration_info(*dev);
        j["iommu"] = iommufd ? iommufd_info(*space, *dev, mdev) : type1_info(*space);
        return j;
    }
};

json device_json(const sysfs_device& d) {
    json j{{"name", d.name}, {"bus", d.bus}, {"driver", d.driver.empty() ? json(nullptr) : json(d.driver)},
           {"vfio", d.vfio_bound()}, {"cdev", d.cdev.empty() ? json(nullptr) : json(d.cdev)}};
    if (d.group) j["group"] = *d.group;
    if (d.bus == "pci") {
        j["vendor"] = d.vendor;
        j["device"] = d.device;
        j["class"] = d.pci_class;
    } else {
        j["mdev_type"] = d.mdev_type;
        j["parent"] = d.parent;
    }
    return j;
}
std::string device_text(const sysfs_device& d) {
    std::string id = d.bus == "pci" ? fmt::format("[{}:{}] class {}{}", d.vendor, d.device, d.pci_class, d.bridge() ? " (bridge)" : "")
                                    : fmt::format("mdev {} (parent {})", d.mdev_type, d.parent);
    return fmt::format("{}  {}  driver {}{}{}", d.name, id, d.driver.empty() ? "none" : d.driver,
                       d.cdev.empty() ? "" : "  cdev " + d.cdev, d.blocks() ? "  <- keeps the group from being viable" : "");
}
json group_json(const sysfs_group& g) {
    json blockers = json::array();
    for (const auto& d : g.devices)
        if (d.blocks()) blockers.push_back({{"device", d.name}, {"driver", d.driver}});
    return {{"group", g.number}, {"node", g.has_node() ? json(g.node()) : json(nullptr)}, {"viable", g.viable()},
            {"blockers", blockers}, {"devices", json::array()}};
}
std::string group_text(const sysfs_group& g) {
    std::string state;
    if (!g.viable()) {
        std::string who;
        for (const auto& d : g.devices)
            if (d.blocks()) who += fmt::format("{}{} ({})", who.empty() ? "" : ", ", d.name, d.driver);
        state = "not viable: " + who + " bound to a non-VFIO driver (vfio-bind --group rebinds the group)";
    } else if (!g.has_node() && std::any_of(g.devices.begin(), g.devices.end(), [](const auto& d) { return d.vfio_bound(); })) {
        state = "viable (but " + g.node() + " is missing: is devtmpfs mounted, or udev running?)";
    } else if (!g.has_node()) {
        state = "no VFIO node: no device of the group is bound to a VFIO driver";
    } else {
        state = "viable";
    }
    std::string access;
    if (g.has_node() && ::access(g.node().c_str(), R_OK | W_OK) != 0)
        access = fmt::format(" (not accessible to uid {}: run as root or chown the node)", ::getuid());
    return fmt::format("group {}  {}  {}{}", g.number, g.has_node() ? g.node() : "-", state, access);
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"vfio-ls: lists IOMMU groups and VFIO devices (like lspci for VFIO); with -v or named devices, opens "
                 "each device read-only and shows its regions, IRQs, migration support and IOMMU information",
                 "vfio-ls"};
    std::vector<std::string> names;
    bool verbose = false, json_out = false;
    std::string backend_name = "auto", sysfs_root = "/sys";
    app.add_option("DEVICE", names, "PCI address (0000:00:03.0), mdev UUID or cdev path (/dev/vfio/devices/vfio0): "
                                    "list and inspect only these");
    app.add_flag("-v,--verbose", verbose, "open every device bound to a VFIO driver and show its regions, IRQs, "
                                          "migration support and IOMMU information");
    app.add_flag("--json", json_out, "print one JSON document instead of text");
    app.add_option("--backend", backend_name, "backend used to open devices: auto (iommufd when the kernel has it), "
                                              "type1 or iommufd")
        ->check(CLI::IsMember({"auto", "type1", "iommufd"}));
    app.add_option("--sysfs", sysfs_root, "sysfs root to read (tests point it at a fake tree)");
    app.footer(exit_codes_text);
    // line-buffered even into a file or pipe, so that stdout and stderr lines keep their order in a log
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? exit_ok : exit_usage;
    }
    const backend b = backend_name == "type1" ? backend::type1 : backend_name == "iommufd" ? backend::iommufd : backend::automatic;
    inspector insp{json_out};
    failure fail;

    auto groups = read_groups(sysfs_root);
    json out{{"groups", json::array()}};
    std::size_t n_devices = 0, n_vfio = 0, n_inspected = 0;

    // The devices asked for, by name (a cdev path is resolved to its device's name first).
    std::vector<std::string> wanted;
    for (const auto& arg : names) {
        std::string name = resolve_name(sysfs_root, arg);
        auto d = name.empty() ? std::nullopt : read_device(sysfs_root, name);
        if (!d) {
            fmt::print(stderr, "vfio-ls: {}: no such PCI device, mdev or VFIO cdev (expected DDDD:BB:DD.F, an mdev UUID "
                               "or /dev/vfio/devices/vfioN; `vfio-ls` lists what there is)\n", arg);
            fail.note(exit_no_device);
            continue;
        }
        if (!d->group) {
            fmt::print(stderr, "vfio-ls: {}: the device has no IOMMU group: boot with the IOMMU on (intel_iommu=on / "
                               "amd_iommu=on)\n", arg);
            fail.note(exit_not_vfio);
            continue;
        }
        wanted.push_back(name);
    }
    if (!names.empty() && wanted.empty()) {  // nothing left to list (each name's error is printed)
        out["summary"] = {{"groups", 0}, {"devices", 0}, {"vfio_devices", 0}, {"inspected", 0}, {"exit_code", fail.code}};
        if (json_out) fmt::print("{}\n", out.dump(2));
        return fail.code;
    }

    if (groups.empty() && !json_out)
        fmt::print("no IOMMU groups in {}/kernel/iommu_groups: the IOMMU is off (boot with intel_iommu=on or "
                   "amd_iommu=on) or the machine has none\n", sysfs_root);
    for (const auto& g : groups) {
        bool show_group = wanted.empty();
        for (const auto& d : g.devices)
            show_group |= std::find(wanted.begin(), wanted.end(), d.name) != wanted.end();
        if (!show_group) continue;
        json gj = group_json(g);
        if (!json_out) fmt::print("{}\n", group_text(g));
        for (const auto& d : g.devices) {
            bool named = std::find(wanted.begin(), wanted.end(), d.name) != wanted.end();
            if (!wanted.empty() && !named) continue;
            ++n_devices;
            n_vfio += d.vfio_bound();
            json dj = device_json(d);
            if (!json_out) fmt::print("  {}\n", device_text(d));
            if (named || (verbose && d.vfio_bound())) {
                if (!d.vfio_bound()) {
                    std::string msg = fmt::format("{} is not bound to a VFIO driver ({}): bind it with: vfio-bind {}",
                                                  d.name, d.driver.empty() ? "no driver" : d.driver, d.name);
                    dj["error"] = msg;
                    if (!json_out) fmt::print(stderr, "vfio-ls: {}\n", msg);
                    fail.note(exit_not_vfio);
                } else if (!g.viable()) {
                    std::string msg = fmt::format("{}: group {} is not viable: bind the whole group with: vfio-bind --group {}",
                                                  d.name, g.number, d.name);
                    dj["error"] = msg;
                    if (!json_out) fmt::print(stderr, "vfio-ls: {}\n", msg);
                    fail.note(exit_not_vfio);
                } else if (auto r = insp.inspect(d.name, b, d.bus == "mdev")) {
                    dj["details"] = *r;
                    ++n_inspected;
                } else {
                    int code = exit_code_of(r.error());
                    std::string hint = hint_for(r.error(), d.name);
                    dj["error"] = fmt::format("{}", r.error());
                    if (!hint.empty()) dj["hint"] = hint;
                    if (!json_out) fmt::print(stderr, "vfio-ls: {}: {}{}\n", d.name, r.error(), hint.empty() ? "" : "\n  " + hint);
                    fail.note(code);
                }
            }
            gj["devices"].push_back(dj);
        }
        out["groups"].push_back(gj);
    }
    out["summary"] = {{"groups", out["groups"].size()}, {"devices", n_devices}, {"vfio_devices", n_vfio},
                      {"inspected", n_inspected}, {"exit_code", fail.code}};
    if (json_out)
        fmt::print("{}\n", out.dump(2));
    else
        fmt::print("vfio-ls: {} IOMMU group{}, {} device{}, {} bound to VFIO, {} inspected\n", out["groups"].size(),
                   out["groups"].size() == 1 ? "" : "s", n_devices, n_devices == 1 ? "" : "s", n_vfio, n_inspected);
    return fail.code;
}
