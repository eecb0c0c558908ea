// vfiopp/hw_info.hpp - what the IOMMU behind a bound device is and can do (IOMMU_GET_HW_INFO), VT-d registers decoded.
//
//   auto info = vfiopp::get_hw_info(ctx, dev.dev_id()).value();
//   if (auto* vtd = std::get_if<vfiopp::vtd_hw_info>(&info.data)) {
//       if (!vtd->ecap.nest) use_emulated_viommu();               // no nesting: shadow the guest's page tables
//       vtd->cap.for_each_field([](std::string_view name, std::uint64_t v) { log("cap.{}={:#x}", name, v); });
//   }
//   if (info.capabilities.has(vfiopp::uapi::hw_capability::dirty_tracking)) offer_live_migration();
//
// The VT-d fields are those drivers/iommu/intel/iommu.h reads (cap_* / ecap_* macros, Linux 7.3), named after the
// VT-d specification's register fields; a bit the kernel does not read is left in cap_reg / ecap_reg. SMMUv3, AMD and
// Tegra241 data is given as the kernel's struct, raw. A driver's own type (unknown to vfiopp) stays in `raw`; read it
// with as<D>() once D has a wire::hw_info_traits specialization.
#pragma once

#include <vfiopp/error.hpp>
#include <vfiopp/io/sync.hpp>
#include <vfiopp/iommufd.hpp>
#include <vfiopp/wire/iommufd.hpp>

#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>
#include <variant>

namespace vfiopp {

namespace detail {
[[nodiscard]] constexpr std::uint64_t bits_of(std::uint64_t reg, unsigned shift, std::uint64_t mask) noexcept {
    return (reg >> shift) & mask;
}
}  // namespace detail

/// The VT-d Capability Register (CAP_REG) decoded as the kernel's cap_* macros read it.
///   auto cap = vfiopp::vtd_cap::decode(0x00d2008c222f0606); cap.mgaw == 48; cap.num_domains() == 65536;
struct vtd_cap {
    std::uint8_t nd = 0;       ///< ND (2:0): number of domains = 2^(4 + 2 * nd)
    bool afl = false;          ///< AFL (3): advanced fault logging
    bool rwbf = false;         ///< RWBF (4): required write-buffer flushing
    bool plmr = false;         ///< PLMR (5): protected low-memory region
    bool phmr = false;         ///< PHMR (6): protected high-memory region
    bool cm = false;           ///< CM (7): caching mode (not-present entries may be cached: flush on map)
    std::uint8_t sagaw = 0;    ///< SAGAW (12:8): supported adjusted guest address widths (bit 1: 39-bit/3-level, bit 2: 48-bit/4-level, bit 3: 57-bit/5-level)
    std::uint8_t mgaw = 0;     ///< MGAW (21:16) + 1: maximum guest address width, in bits
    bool zlr = false;          ///< ZLR (22): zero-length DMA reads
    bool isoch = false;        ///< bit 23 (the kernel's cap_isoch; deprecated in the specification)
    std::uint16_t fro = 0;     ///< FRO (33:24) * 16: fault-recording registers' offset, in bytes
    std::uint8_t sllps = 0;    ///< SLLPS (37:34): second-stage large pages (bit 0: 2 MiB, bit 1: 1 GiB)
    bool psi = false;          ///< PSI (39): page-selective invalidation
    std::uint16_t nfr = 0;     ///< NFR (47:40) + 1: number of fault-recording registers
    std::uint8_t mamv = 0;     ///< MAMV (53:48): maximum address mask value of a page-selective invalidation
    bool dwd = false;          ///< DWD (54): write draining
    bool drd = false;          ///< DRD (55): read draining
    bool fl1gp = false;        ///< FS1GP (56): first-stage 1 GiB pages
    bool pi = false;           ///< PI (59): posted interrupts
    bool fl5lp = false;        ///< FS5LP (60): first-stage 5-level paging
    bool ecmds = false;        ///< ECMDS (61): enhanced command support
    bool esirtps = false;      ///< ESIRTPS (62): enhanced set interrupt remap table pointer
    bool esrtps = false;       ///< ESRTPS (63): enhanced set root table pointer

    /// Decodes a CAP_REG value: `auto cap = vfiopp::vtd_cap::decode(vtd.cap_reg);`
    [[nodiscard]] static constexpr vtd_cap decode(std::uint64_t c) noexcept {
        using detail::bits_of;
        vtd_cap d;
        d.nd = static_cast<std::uint8_t>(bits_of(c, 0, 0x7));
        d.afl = bits_of(c, 3, 1);
        d.rwbf = bits_of(c, 4, 1);
        d.plmr = bits_of(c, 5, 1);
        d.phmr = bits_of(c, 6, 1);
        d.cm = bits_of(c, 7, 1);
        d.sagaw = static_cast<std::uint8_t>(bits_of(c, 8, 0x1f));
        d.mgaw = static_cast<std::uint8_t>(bits_of(c, 16, 0x3f) + 1);
        d.zlr = bits_of(c, 22, 1);
        d.isoch = bits_of(c, 23, 1);
        d.fro = static_cast<std::uint16_t>(bits_of(c, 24, 0x3ff) * 16);
        d.sllps = static_cast<std::uint8_t>(bits_of(c, 34, 0xf));
        d.psi = bits_of(c, 39, 1);
        d.nfr = static_cast<std::uint16_t>(bits_of(c, 40, 0xff) + 1);
        d.mamv = static_cast<std::uint8_t>(bits_of(c, 48, 0x3f));
        d.dwd = bits_of(c, 54, 1);
        d.drd = bits_of(c, 55, 1);
        d.fl1gp = bits_of(c, 56, 1);
        d.pi = bits_of(c, 59, 1);
        d.fl5lp = bits_of(c, 60, 1);
        d.ecmds = bits_of(c, 61, 1);
        d.esirtps = bits_of(c, 62, 1);
        d.esrtps = bits_of(c, 63, 1);
        return d;
    }
    /// Number of domain IDs (cap_ndoms): `cap.num_domains() == 65536` for ND 6.
    [[nodiscard]] constexpr std::uint64_t num_domains() const noexcept { return std::uint64_t{1} << (4 + 2 * nd); }
    /// Calls f(name, value) for every field, in bit order (names as in the specification, lower case):
    ///   cap.for_each_field([](std::string_view n, std::uint64_t v) { fmt::print("{}={} ", n, v); });
    template <typename F>
    constexpr void for_each_field(F&& f) const {
        f("nd", nd), f("afl", afl), f("rwbf", rwbf), f("plmr", plmr), f("phmr", phmr), f("cm", cm), f("sagaw", sagaw);
        f("mgaw", mgaw), f("zlr", zlr), f("isoch", isoch), f("fro", fro), f("sllps", sllps), f("psi", psi);
        f("nfr", nfr), f("mamv", mamv), f("dwd", dwd), f("drd", drd), f("fl1gp", fl1gp), f("pi", pi);
        f("fl5lp", fl5lp), f("ecmds", ecmds), f("esirtps", esirtps), f("esrtps", esrtps);
    }
    friend constexpr bool operator==(const vtd_cap&, const vtd_cap&) = default;
};

/// The VT-d Extended Capability Register (ECAP_REG) decoded as the kernel's ecap_* macros read it.
///   auto ecap = vfiopp::vtd_ecap::decode(vtd.ecap_reg); if (ecap.smts && ecap.flts) ...
struct vtd_ecap {
    bool c = false;             ///< C (0): page-walk coherency
    bool qi = false;            ///< QI (1): queued invalidation
    bool dt = false;            ///< DT (2): device-TLB (ATS)
    bool ir = false;            ///< IR (3): interrupt remapping
    bool eim = false;           ///< EIM (4): extended interrupt mode (x2APIC)
    bool pt = false;            ///< PT (6): pass-through
    bool sc = false;            ///< SC (7): snoop control
    std::uint16_t iro = 0;      ///< IRO (17:8) * 16: IOTLB registers' offset, in bytes
    std::uint8_t mhmv = 0;      ///< MHMV (23:20): maximum handle mask value
    bool mts = false;           ///< MTS (25): memory type support
    bool nest = false;          ///< NEST (26): nested translation
    bool dis = false;           ///< bit 27 (the kernel's ecap_dis)
    bool broken_pasid = false;  ///< bit 28 (the kernel's ecap_broken_pasid: the deprecated pre-scalable PASID bit)
    bool prs = false;           ///< PRS (29): page requests
    bool ers = false;           ///< ERS (30): execute requests
    bool srs = false;           ///< SRS (31): supervisor requests
    bool nwfs = false;          ///< NWFS (33): no write flag
    bool eafs = false;          ///< EAFS (34): extended accessed flag
    std::uint8_t pss = 0;       ///< PSS (39:35): PASID size - 1 (PASIDs are pss + 1 bits wide)
    bool pasid = false;         ///< PASID (40): PASID support
    bool dit = false;           ///< DIT (41): device-TLB invalidation throttling
    bool pds = false;           ///< PDS (42): page-request drain
    bool smts = false;          ///< SMTS (43): scalable-mode translation
    bool slads = false;         ///< SSADS (45): second-stage accessed/dirty bits (dirty tracking)
    bool slts = false;          ///< SSTS (46): second-stage translation in scalable mode
    bool flts = false;          ///< FSTS (47): first-stage translation
    bool smpwc = false;         ///< SMPWC (48): scalable-mode page-walk coherency
    bool rps = false;           ///< RPS (49): RID_PASID
    bool pms = false;           ///< PMS (51): performance monitoring

    /// Decodes an ECAP_REG value: `auto ecap = vfiopp::vtd_ecap::decode(vtd.ecap_reg);`
    [[nodiscard]] static constexpr vtd_ecap decode(std::uint64_t e) noexcept {
        using detail::bits_of;
        vtd_ecap d;
        d.c = bits_of(e, 0, 1);
        d.qi = bits_of(e, 1, 1);
        d.dt = bits_of(e, 2, 1);
        d.ir = bits_of(e, 3, 1);
        d.eim = bits_of(e, 4, 1);
        d.pt = bits_of(e, 6, 1);
        d.sc = bits_of(e, 7, 1);
        d.iro = static_cast<std::uint16_t>(bits_of(e, 8, 0x3ff) * 16);
        d.mhmv = static_cast<std::uint8_t>(bits_of(e, 20, 0xf));
        d.mts = bits_of(e, 25, 1);
        d.nest = bits_of(e, 26, 1);
        d.dis = bits_of(e, 27, 1);
        d.broken_pasid = bits_of(e, 28, 1);
        d.prs = bits_of(e, 29, 1);
        d.ers = bits_of(e, 30, 1);
        d.srs = bits_of(e, 31, 1);
        d.nwfs = bits_of(e, 33, 1);
        d.eafs = bits_of(e, 34, 1);
        d.pss = static_cast<std::uint8_t>(bits_of(e, 35, 0x1f));
        d.pasid = bits_of(e, 40, 1);
        d.dit = bits_of(e, 41, 1);
        d.pds = bits_of(e, 42, 1);
        d.smts = bits_of(e, 43, 1);
        d.slads = bits_of(e, 45, 1);
        d.slts = bits_of(e, 46, 1);
        d.flts = bits_of(e, 47, 1);
        d.smpwc = bits_of(e, 48, 1);
        d.rps = bits_of(e, 49, 1);
        d.pms = bits_of(e, 51, 1);
        return d;
    }
    /// Calls f(name, value) for every field, in bit order:
    ///   ecap.for_each_field([](std::string_view n, std::uint64_t v) { fmt::print("{}={} ", n, v); });
    template <typename F>
    constexpr void for_each_field(F&& f) const {
        f("c", c), f("qi", qi), f("dt", dt), f("ir", ir), f("eim", eim), f("pt", pt), f("sc", sc), f("iro", iro);
        f("mhmv", mhmv), f("mts", mts), f("nest", nest), f("dis", dis), f("broken_pasid", broken_pasid), f("prs", prs);
        f("ers", ers), f("srs", srs), f("nwfs", nwfs), f("eafs", eafs), f("pss", pss), f("pasid", pasid), f("dit", dit);
        f("pds", pds), f("smts", smts), f("slads", slads), f("slts", slts), f("flts", flts), f("smpwc", smpwc);
        f("rps", rps), f("pms", pms);
    }
    friend constexpr bool operator==(const vtd_ecap&, const vtd_ecap&) = default;
};

/// Intel VT-d data of IOMMU_GET_HW_INFO: the registers as the kernel gave them, and decoded.
struct vtd_hw_info {
    uapi::bitmask<uapi::hw_info_vtd_flag> flags{};  ///< errata_772415_spr17
    std::uint64_t cap_reg = 0;
    std::uint64_t ecap_reg = 0;
    vtd_cap cap{};
    vtd_ecap ecap{};
    /// From the kernel's struct: `auto v = vfiopp::vtd_hw_info::from(raw_vtd);`
    [[nodiscard]] static constexpr vtd_hw_info from(const uapi::iommu_hw_info_vtd& v) noexcept {
        return {v.flags, v.cap_reg, v.ecap_reg, vtd_cap::decode(v.cap_reg), vtd_ecap::decode(v.ecap_reg)};
    }
};

/// What IOMMU_GET_HW_INFO reports for a device.
struct hw_info {
    uapi::hw_info_type type = uapi::hw_info_type::none;   ///< out_data_type (may be a driver's own value)
    uapi::bitmask<uapi::hw_capability> capabilities{};    ///< out_capabilities: dirty_tracking, PASID exec/priv, ATS not supported
    std::uint8_t max_pasid_log2 = 0;                      ///< out_max_pasid_log2: 0 when the device has no PASID
    std::uint32_t data_len = 0;                           ///< the kernel's length of its data (may exceed raw's size)
    /// The data decoded by type (monostate: none, or a type vfiopp does not know: see raw).
    std::variant<std::monostate, vtd_hw_info, uapi::iommu_hw_info_arm_smmuv3, uapi::iommu_hw_info_amd,
                 uapi::iommu_hw_info_tegra241_cmdqv>
        data;
    alignas(8) std::array<std::byte, 64> raw{};  ///< the data as written (min(data_len, 64) bytes, the rest zero)

    /// The data as a caller's (or the kernel's) struct D, when the kernel reported D's type (wire::hw_info_traits).
    ///   auto t = info.as<my_test_hw_info>(); if (t) t->test_reg;
    template <wire::iommufd::hw_info_data D>
    [[nodiscard]] std::optional<D> as() const noexcept {
        static_assert(sizeof(D) <= sizeof(raw), "vfiopp::hw_info keeps 64 bytes of driver data");
        if (type != wire::iommufd::hw_info_type_of<D>) return std::nullopt;
        D d{};
        std::memcpy(&d, raw.data(), sizeof d);
        return d;
    }
};

/// IOMMU_GET_HW_INFO of the bound device dev_id on the iommufd fd, the data in the driver's default type.
///   auto info = vfiopp::get_hw_info(ctx.fd(), dev_id, ctx.hook()).value();
[[nodiscard]] inline result<hw_info> get_hw_info(int iommufd_fd, std::uint32_t dev_id, io::ioctl_hook hook = {}) {
    hw_info out;
    auto req = wire::iommufd::get_hw_info(dev_id, std::span<std::byte>(out.raw));
    if (!req) return req.error();
    if (auto r = io::submit(iommufd_fd, *req, hook); !r) {
        auto e = r.error().with("dev_id", dev_id);
        if (e.code == ENOENT) e.advise("no such device ID in this iommufd (bind the device to it first)");
        if (e.code == EOPNOTSUPP) e.advise("the device's IOMMU gives no information (a noiommu device)");
        return e;
    }
    auto h = req->header();
    out.type = h.data_type.out_data_type;
    out.capabilities = h.out_capabilities;
    out.max_pasid_log2 = h.out_max_pasid_log2;
    out.data_len = h.data_len;
    auto take = [&]<typename D>(D d) {
        if (h.data_len < sizeof(D)) return;  // a shorter (older) struct than vfiopp knows: raw only
        std::memcpy(&d, out.raw.data(), sizeof d);
        out.data = d;
    };
    switch (out.type) {
        case uapi::hw_info_type::intel_vtd: {
            uapi::iommu_hw_info_vtd v{};
            if (h.data_len >= sizeof v) {
                std::memcpy(&v, out.raw.data(), sizeof v);
                out.data = vtd_hw_info::from(v);
            }
            break;
        }
        case uapi::hw_info_type::arm_smmuv3: take(uapi::iommu_hw_info_arm_smmuv3{}); break;
        case uapi::hw_info_type::amd: take(uapi::iommu_hw_info_amd{}); break;
        case uapi::hw_info_type::tegra241_cmdqv: take(uapi::iommu_hw_info_tegra241_cmdqv{}); break;
        default: break;
    }
    return out;
}
/// IOMMU_GET_HW_INFO of a device bound to ctx: `auto info = vfiopp::get_hw_info(ctx, dev.dev_id()).value();`
[[nodiscard]] inline result<hw_info> get_hw_info(const iommufd& ctx, std::uint32_t dev_id) {
    return get_hw_info(ctx.fd(), dev_id, ctx.hook());
}

}  // namespace vfiopp
