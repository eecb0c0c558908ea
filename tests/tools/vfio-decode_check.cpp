// vfio-decode_check - the helper of tests/tools/vfio-decode.cmake: makes request and reply images with vfiopp (so
// the tests decode what the library builds, not hand-typed hex), and checks vfio-decode's JSON against concrete
// facts and against the registry the library itself holds.
//
//   vfio-decode_check image NAME        prints image NAME as hex:
//       map_dma         wire::vfio::iommu_map_dma(0x7f0000000000, 0x100000, 0x200000, read|write): the image
//                       tests/unit/golden/golden.c's golden_map_dma() writes with the kernel's own struct
//       iommu_info      a VFIO_IOMMU_GET_INFO reply as Debian's 6.1 writes it: 4 KiB|2 MiB|1 GiB pages, IOVA_RANGE
//                       with 2 ranges at 24 (the MSI hole cut out), DMA_AVAIL (65535) at 72, argsz 84
//       iommu_info_bad  the same reply with cap_offset 26 (not 4-byte aligned): the library refuses the chain
//       nesting_v7_bind wire::nesting_op<abi::v7>(bind_pgtbl{...}): gpgd 0x1000, hpasid 5, addr_width 48, SRE
//       irq_set         wire::vfio::set_irqs_eventfds<irq_trigger>(msix, 0, {5, 6, -1})
//   vfio-decode_check registry COUNT    reads `vfio-decode --list --json` on stdin; COUNT is the line count of
//                                       `vfio-decode --list`
//   vfio-decode_check decoded           reads `vfio-decode VFIO_IOMMU_MAP_DMA --json <map_dma>` on stdin
// Prints one success line and exits 0, or names the first failed check and exits 1.
#include <vfiopp/uapi/registry.hpp>
#include <vfiopp/wire/nesting.hpp>
#include <vfiopp/wire/vfio.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace uapi = vfiopp::uapi;
namespace wire = vfiopp::wire;
using json = nlohmann::json;

int failures = 0;

/// Records a failed check (the first lines name what differs).
void check(bool ok, std::string_view what) {
    if (ok) return;
    ++failures;
    fmt::print(stderr, "vfio-decode_check: FAILED: {}\n", what);
}

void print_hex(std::span<const std::byte> b) {
    for (auto x : b) fmt::print("{:02x}", static_cast<unsigned>(x));
    fmt::print("\n");
}

/// Appends a mirror's bytes to an image.
template <typename T>
void put(std::vector<std::byte>& img, const T& v) {
    const auto* p = reinterpret_cast<const std::byte*>(&v);
    img.insert(img.end(), p, p + sizeof v);
}

/// The VFIO_IOMMU_GET_INFO reply described at the top, with cap_offset `first`.
std::vector<std::byte> iommu_info_reply(uapi::u32 first) {
    std::vector<std::byte> img;
    uapi::vfio_iommu_type1_info info{};
    info.argsz = 84;
    info.flags = uapi::iommu_info_flag::pgsizes | uapi::iommu_info_flag::caps;
    info.iova_pgsizes = 0x40201000;
    info.cap_offset = first;
    put(img, info);
    uapi::vfio_iommu_type1_info_cap_iova_range iova{};
    iova.header = {1, 1, 72};
    iova.nr_iovas = 2;
    put(img, iova);
    put(img, uapi::vfio_iova_range{0, 0xfedfffff});
    put(img, uapi::vfio_iova_range{0xfef00000, 0xffffffffffff});
    uapi::vfio_iommu_type1_info_dma_avail avail{};
    avail.header = {3, 1, 0};
    avail.avail = 65535;
    put(img, avail);
    return img;
}

int image(std::string_view name) {
    using namespace vfiopp::uapi;
    if (name == "map_dma") {
        auto r = wire::vfio::iommu_map_dma(0x7f0000000000, 0x100000, 0x200000, map_dma_flag::read | map_dma_flag::write);
        print_hex(r.value().bytes());
    } else if (name == "iommu_info" || name == "iommu_info_bad") {
        print_hex(iommu_info_reply(name == "iommu_info" ? 24 : 26));
    } else if (name == "nesting_v7_bind") {
        iommu_gpasid_bind_data b{};
        b.format = iommu_pasid_format::intel_vtd;
        b.addr_width = 48;
        b.gpgd = 0x1000;
        b.hpasid = 5;
        b.vendor.vtd.flags = iommu_gpasid_vtd_flag::sre;
        print_hex(wire::nesting_op<abi::v7>(wire::bind_pgtbl{b}).value().bytes());
    } else if (name == "irq_set") {
        wire::vfio::set_irqs_request<4> r;
        const int fds[] = {5, 6, -1};
        auto s = wire::vfio::set_irqs_eventfds<wire::vfio::irq_trigger>(r, pci_irq_index::msix, 0, std::span<const int>(fds));
        if (!s) return 1;
        print_hex(r.bytes());
    } else {
        fmt::print(stderr, "vfio-decode_check: no image named {}\n", name);
        return 2;
    }
    return 0;
}

/// The field `name` of a struct object of the export, or null.
json field_of(const json& s, std::string_view name) {
    for (const auto& f : s.at("fields"))
        if (f.at("name") == name) return f;
    return nullptr;
}

int registry(std::size_t list_lines) {
    json j = json::parse(std::cin);
    const auto& ioctls = j.at("ioctls");
    const auto& structs = j.at("structs");
    const auto& enums = j.at("enums");
    check(ioctls.size() == list_lines, fmt::format("--list --json has {} ioctls, --list {} lines", ioctls.size(), list_lines));
    check(ioctls.size() == uapi::ioctl_registry.size(),
          fmt::format("--list --json has {} ioctls, the registry {}", ioctls.size(), uapi::ioctl_registry.size()));
    check(j.at("counts").at("ioctls") == ioctls.size(), "counts.ioctls");
    check(j.at("counts").at("structs") == structs.size(), "counts.structs");
    // every entry, in registry order, with the registry's name, code, fd and ABI
    for (std::size_t k = 0; k < std::min(ioctls.size(), uapi::ioctl_registry.size()); ++k) {
        const auto& i = uapi::ioctl_registry[k];
        const auto& e = ioctls[k];
        check(e.at("name") == i.name && e.at("code") == i.code && e.at("abi") == uapi::to_string(i.abi),
              fmt::format("ioctl {} differs from the registry's {}", e.dump(), i.name));
        if (!e.at("arg_struct").is_null())
            check(structs.contains(e.at("arg_struct").get<std::string>()),
                  fmt::format("{}: its argument struct {} is not exported", i.name, e.at("arg_struct").dump()));
    }
    // every struct a field names, and every enum family a field names, is exported
    std::size_t fields = 0;
    for (const auto& [key, s] : structs.items())
        for (const auto& f : s.at("fields")) {
            ++fields;
            if (f.contains("struct")) check(structs.contains(f.at("struct").get<std::string>()), key + "." + f.at("name").get<std::string>());
            if (f.contains("enum")) check(enums.contains(f.at("enum").get<std::string>()), key + "." + f.at("name").get<std::string>());
        }
    // concrete facts a script would otherwise hand-write
    auto iova = field_of(structs.at("vfio_iommu_type1_dma_map"), "iova");
    check(iova.at("offset") == 16 && iova.at("size") == 8, "vfio_iommu_type1_dma_map.iova is at 16, 8 bytes");
    check(structs.at("vfio_iommu_type1_dma_map").at("size") == 32, "sizeof(vfio_iommu_type1_dma_map) == 32");
    auto hpasid = field_of(structs.at("iommu_gpasid_bind_data"), "hpasid");
    check(hpasid.at("offset") == 32, "iommu_gpasid_bind_data.hpasid is at 32");
    check(structs.at("v7::vfio_iommu_type1_nesting_op").at("flex").at("offset") == 8, "v7 NESTING_OP data[] at 8");
    check(structs.at("seed::vfio_iommu_type1_nesting_op").at("flex").at("offset") == 12, "seed NESTING_OP data[] at 12");
    bool hwpt_alloc = false, map_dma = false, v7_pasid = false;
    for (const auto& e : ioctls) {
        if (e.at("name") == "IOMMU_HWPT_ALLOC") hwpt_alloc = e.at("code") == 0x3b89 && e.at("fd") == "iommufd" && e.at("arg_struct") == "iommu_hwpt_alloc";
        if (e.at("name") == "VFIO_IOMMU_MAP_DMA") map_dma = e.at("code") == 0x3b71 && e.at("arg") == "in";
        if (e.at("name") == "VFIO_IOMMU_PASID_REQUEST" && e.at("abi") == "v7")
            v7_pasid = e.at("code") == 0x3b76 && e.at("returns").at("kind") == "value";
    }
    check(hwpt_alloc, "IOMMU_HWPT_ALLOC: 0x3b89 on an iommufd fd, argument iommu_hwpt_alloc");
    check(map_dma, "VFIO_IOMMU_MAP_DMA: 0x3b71, argument in");
    check(v7_pasid, "v7 VFIO_IOMMU_PASID_REQUEST: 0x3b76, returns a value");
    bool read = false;
    for (const auto& v : enums.at("map_dma_flag").at("values"))
        if (v.at("kernel_name") == "VFIO_DMA_MAP_FLAG_READ") read = v.at("value") == 1;
    check(read, "enum map_dma_flag: VFIO_DMA_MAP_FLAG_READ == 1");
    check(enums.at("map_dma_flag").at("kind") == "flags", "map_dma_flag is a flag set");
    check(j.at("constants").at("VFIO_TYPE").at("value") == 59, "constant VFIO_TYPE == ';' (59)");
    check(j.at("constants").at("VFIO_PCI_DEVID_NOT_OWNED").at("value") == -1, "constant VFIO_PCI_DEVID_NOT_OWNED == -1");
    check(j.at("constants").at("VFIO_IOMMU_PASID_BITS").at("value") == 31, "constant VFIO_IOMMU_PASID_BITS == 31");
    if (failures) return 1;
    fmt::print("vfio-decode_check: registry JSON ok: {} ioctls (= {} lines of --list), {} structs with {} fields, {} enum "
               "families, {} constants\n",
               ioctls.size(), list_lines, structs.size(), fields, enums.size(), j.at("constants").size());
    return 0;
}

int decoded() {
    json j = json::parse(std::cin);
    check(j.at("ioctl").at("name") == "VFIO_IOMMU_MAP_DMA", "ioctl.name");
    check(j.at("ioctl").at("code") == 0x3b71, "ioctl.code");
    check(j.at("size") == 32, "size");
    const auto& v = j.at("value");
    check(v.at("argsz") == 32, "value.argsz == 32");
    check(v.at("iova") == 0x100000, "value.iova == 0x100000");
    check(v.at("vaddr") == 0x7f0000000000, "value.vaddr == 0x7f0000000000");
    check(v.at("size") == 0x200000, "value.size == 0x200000");
    check(v.at("flags").at("value") == 3 && v.at("flags").at("names") == json::array({"read", "write"}),
          "value.flags == read|write");
    if (failures) return 1;
    fmt::print("vfio-decode_check: decoded JSON ok: VFIO_IOMMU_MAP_DMA iova=0x100000 flags=read|write\n");
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string_view cmd = argc > 1 ? argv[1] : "";
    try {
        if (cmd == "image" && argc == 3) return image(argv[2]);
        if (cmd == "registry" && argc == 3) return registry(std::strtoull(argv[2], nullptr, 10));
        if (cmd == "decoded" && argc == 2) return decoded();
    } catch (const json::exception& e) {
        fmt::print(stderr, "vfio-decode_check: FAILED: the JSON does not have what the check reads: {}\n", e.what());
        return 1;
    }
    fmt::print(stderr, "usage: vfio-decode_check image NAME | registry COUNT | decoded\n");
    return 2;
}
