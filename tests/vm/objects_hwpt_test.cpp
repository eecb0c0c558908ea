// VM tests of the HWPT objects (issue 10): vfiopp::hwpt (IOMMU_HWPT_ALLOC plain / NEST_PARENT / nested, dirty
// tracking, invalidation, destroy), device PASID attach / replace / detach, and vfiopp::get_hw_info with the VT-d
// registers decoded, on the testbed's emulated VT-d (edu through its cdev) in each IOMMU mode, and on the kernel's
// IOMMUFD_TEST mock IOMMU, which has what emulated VT-d lacks (nesting, dirty tracking, user invalidation).
//
// The expected answers per mode come from the 7.3 kernel (drivers/iommu/intel/iommu.c, drivers/iommu/iommufd/) and
// from what QEMU's intel-iommu advertises in VFIOPP_VM_IOMMU's mode; each is asserted exactly. On Debian's 6.1 (no
// iommufd: VFIOPP_EDU_CDEVS empty) the cases check that /dev/iommu is absent and stop.
#include <vfiopp/device.hpp>
#include <vfiopp/hw_info.hpp>
#include <vfiopp/hwpt.hpp>
#include <vfiopp/iommufd.hpp>
#include <vfiopp/unique_fd.hpp>
#include <vfiopp/wire/iommufd.hpp>

#include "objects_support.hpp"

#include <catch2/catch_test_macros.hpp>
#include <fmt/format.h>

#include <sys/mman.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <set>
#include <span>
#include <string>

#include "iommufd_mock.hpp"

namespace {
using namespace vmtest;
using vfiopp::uapi::hwpt_alloc_flag;

// IOMMU_TEST_OP_DIRTY: marks dirty the pages iova + n * page_size of the set bits n of bitmap (the mock's PTEs);
// returns how many it marked.
result<std::uint64_t> mock_mark_dirty(const iommufd& ctx, std::uint32_t hwpt_id, std::uint64_t iova, std::uint64_t length,
                                      std::uint64_t page_size, std::span<const std::uint64_t> bitmap) {
    test_cmd_req r;
    r.cmd.op = op_dirty;
    r.cmd.id = hwpt_id;
    r.cmd.put<std::uint64_t>(8, iova);  // dirty: flags u32 at 0, then iova, length, page_size, uptr, out_nr_dirty
    r.cmd.put<std::uint64_t>(16, length);
    r.cmd.put<std::uint64_t>(24, page_size);
    r.cmd.put<std::uint64_t>(32, reinterpret_cast<std::uintptr_t>(bitmap.data()));
    if (auto s = io::submit(ctx.fd(), r); !s) return s.error();
    return r.cmd.get<std::uint64_t>(40);
}

bool mode_has(const char* prop) {
    const char* m = std::getenv("VFIOPP_VM_IOMMU");
    return m && std::string(m).find(prop) != std::string::npos;
}
bool scalable() { return mode_has("x-scalable-mode=on"); }
bool first_stage() { return mode_has("x-flts=on"); }
bool pasid_mode() { return mode_has("x-pasid-mode=on"); }
const char* mode_name() { return first_stage() ? "first-stage" : scalable() ? "scalable" : "legacy"; }

// On Debian's 6.1 there is nothing to test: no iommufd, no cdev. Say so, checked.
bool no_iommufd_here() {
    if (has_iommufd()) return false;
    CHECK(access("/dev/iommu", F_OK) != 0);
    CHECK(errno == ENOENT);
    auto ctx = iommufd::open();
    REQUIRE(!ctx);
    CHECK(ctx.error().code == ENOENT);
    return true;
}

// edu through its cdev, bound to ctx and attached to the IOAS.
struct edu_on_ioas {
    iommufd ctx;
    ioas as;
    device dev;
};
edu_on_ioas open_edu() {
    edu_on_ioas e;
    auto ctx = iommufd::open();
    REQUIRE_OK(ctx);
    e.ctx = std::move(*ctx);
    auto a = e.ctx.alloc_ioas();
    REQUIRE_OK(a);
    e.as = std::move(*a);
    auto dev = device::open_cdev(env_list("VFIOPP_EDU_CDEVS")[0]);
    REQUIRE_OK(dev);
    e.dev = std::move(*dev);
    REQUIRE_OK(e.dev.bind(e.ctx));
    REQUIRE_OK(e.dev.attach(e.as));
    return e;
}

std::string fields_of(const auto& reg) {
    std::string s;
    reg.for_each_field([&s](std::string_view n, std::uint64_t v) { s += fmt::format(" {}={:#x}", n, v); });
    return s;
}

}  // namespace

TEST_CASE("vm: hwpt GET_HW_INFO of edu, VT-d registers decoded per IOMMU mode", "[hwpt]") {
    if (no_iommufd_here()) return;
    auto e = open_edu();
    auto info = get_hw_info(e.ctx, e.dev.dev_id());
    REQUIRE_OK(info);
    auto* vtd = std::get_if<vtd_hw_info>(&info->data);
    REQUIRE(vtd != nullptr);
    fmt::print("hw_info [{}]: type {}, data_len {}, caps {:#x}, max_pasid_log2 {}, cap {:#018x}, ecap {:#018x}\n  cap:{}\n  ecap:{}\n",
               mode_name(), static_cast<std::uint32_t>(info->type), info->data_len, info->capabilities.bits(),
               info->max_pasid_log2, vtd->cap_reg, vtd->ecap_reg, fields_of(vtd->cap), fields_of(vtd->ecap));
    CHECK(info->type == uapi::hw_info_type::intel_vtd);
    CHECK(info->data_len == sizeof(uapi::iommu_hw_info_vtd));
    CHECK(vtd->cap == vtd_cap::decode(vtd->cap_reg));
    // no dirty tracking (no SSADS); ATS not usable (edu has no ATS capability, QEMU's VT-d no device-TLB)
    CHECK(info->capabilities == uapi::hw_capability::pci_ats_not_supported);
    CHECK(info->max_pasid_log2 == 0);  // edu has no PASID capability
    // QEMU 10's intel-iommu (hw/i386/intel_iommu.c vtd_cap_init), the same in every mode. Measured: cap
    // 0x00d2008c222f0606 (legacy, scalable), 0x01d2008c222f0606 (first-stage: + FS1GP); ecap 0xf00f4a (legacy),
    // 0x490080f00f4a (scalable + PASID: + SRS, PASID, SMTS, SSTS), 0x880000f00f4a (first-stage: + SMTS, FSTS).
    CHECK(vtd->cap.nd == 6);  // 16 bits of domain ID
    CHECK(vtd->cap.num_domains() == 65536);
    CHECK(vtd->cap.mgaw == 48);     // aw-bits defaults to 48
    CHECK(vtd->cap.sagaw == 0x6);   // 39- and 48-bit (3- and 4-level)
    CHECK(vtd->cap.sllps == 0x3);   // 2 MiB and 1 GiB second-stage pages
    CHECK(vtd->cap.psi);
    CHECK(vtd->cap.mamv == 18);     // VTD_MAMV
    CHECK(vtd->cap.nfr == 1);
    CHECK(vtd->cap.fro == 0x220);
    CHECK(vtd->cap.dwd);
    CHECK(vtd->cap.drd);
    CHECK(!vtd->cap.cm);            // caching mode off (the testbed's default)
    CHECK(!vtd->cap.rwbf);
    CHECK(vtd->ecap.qi);
    CHECK(vtd->ecap.ir);            // intremap=on
    CHECK(!vtd->ecap.eim);          // no x2APIC interrupt remapping (eim off without KVM's split irqchip)
    CHECK(vtd->ecap.pt);
    CHECK(!vtd->ecap.c);
    CHECK(!vtd->ecap.dt);           // no device-TLB
    CHECK(vtd->ecap.iro == 0xf0);
    CHECK(vtd->ecap.mhmv == 0xf);
    CHECK(!vtd->ecap.nest);         // QEMU's VT-d never advertises nesting
    CHECK(!vtd->ecap.slads);        // no second-stage dirty bits
    // per mode
    CHECK(vtd->ecap.smts == scalable());
    CHECK(vtd->ecap.flts == first_stage());
    CHECK(vtd->ecap.slts == (scalable() && !first_stage()));
    CHECK(vtd->ecap.pasid == pasid_mode());
    CHECK(vtd->ecap.srs == pasid_mode());
    CHECK(vtd->ecap.pss == 0);
    CHECK(vtd->cap.fl1gp == first_stage());
    // the selftest data type is not what VT-d reports
    CHECK(!info->as<mock::test_hw_info>().has_value());
    CHECK(info->as<uapi::iommu_hw_info_vtd>().value().cap_reg == vtd->cap_reg);
}

TEST_CASE("vm: hwpt plain alloc, device replace onto it with DMA, back to the IOAS, destroy on drop", "[hwpt]") {
    if (no_iommufd_here()) return;
    auto e = open_edu();
    const std::uint32_t auto_hwpt = e.dev.pt_id();
    page_buffer ram(2 * 4096);
    REQUIRE(ram.data() != nullptr);
    auto m = e.as.map(ram.data(), 2 * 4096, dma_access::read_write, 0x200000);
    REQUIRE_OK(m);
    auto bar = e.dev.region(pci_region_index::bar0);
    REQUIRE_OK(bar);
    REQUIRE_OK(bar->map());
    REQUIRE_OK(enable_bus_master(e.dev));
    std::uint32_t id = 0;
    {
        auto h = hwpt::alloc(e.ctx, e.dev.dev_id(), e.as.id());
        REQUIRE_OK(h);
        id = h->id();
        CHECK(id != 0);
        CHECK(id != auto_hwpt);
        CHECK(h->parent_id() == 0);
        CHECK(h->flags().bits() == 0);
        auto rep = e.dev.replace(*h);
        REQUIRE_OK(rep);
        CHECK(*rep == id);
        CHECK(e.dev.pt_id() == id);
        // DMA through the new HWPT: RAM page 0 -> edu -> RAM page 1
        std::memcpy(ram.data(), "through the hwpt", 17);
        REQUIRE_OK(edu_dma(*bar, 0x200000, edu_buffer, 4096, 0));
        REQUIRE_OK(edu_dma(*bar, edu_buffer, 0x201000, 4096, edu_cmd_to_ram));
        CHECK(std::memcmp(ram.data() + 4096, "through the hwpt", 17) == 0);
        // attached: the kernel refuses to destroy it
        auto busy = e.ctx.destroy(id);
        REQUIRE(!busy);
        CHECK(busy.error().code == EBUSY);
        auto back = e.dev.attach(e.as);
        REQUIRE_OK(back);
        CHECK(*back != id);
    }
    // dropped once detached: the ID is gone
    auto gone = e.ctx.destroy(id);
    REQUIRE(!gone);
    CHECK(gone.error().code == ENOENT);
    // an explicit destroy reports, and leaves the object empty
    auto h2 = hwpt::alloc(e.ctx, e.dev.dev_id(), e.as.id());
    REQUIRE_OK(h2);
    REQUIRE_OK(h2->destroy());
    CHECK(h2->id() == 0);
    REQUIRE_OK(h2->destroy());  // nothing left to destroy
}

TEST_CASE("vm: hwpt NEST_PARENT, DIRTY_TRACKING and dirty ops on emulated VT-d: the kernel's exact answers", "[hwpt]") {
    if (no_iommufd_here()) return;
    auto e = open_edu();
    // NEST_PARENT: intel_iommu_domain_alloc_paging_flags needs ECAP.NEST, which QEMU never sets: EOPNOTSUPP in
    // every mode
    auto np = hwpt::alloc(e.ctx, e.dev.dev_id(), e.as.id(), hwpt_alloc_flag::nest_parent);
    REQUIRE(!np);
    INFO(text(np));
    CHECK(np.error().code == EOPNOTSUPP);
    CHECK(np.error().ioctl == "IOMMU_HWPT_ALLOC");
    CHECK(np.error().origin == error_origin::kernel);
    // DIRTY_TRACKING: needs ECAP.SSADS (second-stage A/D bits): EOPNOTSUPP in every mode
    auto dt = hwpt::alloc(e.ctx, e.dev.dev_id(), e.as.id(), hwpt_alloc_flag::dirty_tracking);
    REQUIRE(!dt);
    CHECK(dt.error().code == EOPNOTSUPP);
    // a plain HWPT has no dirty ops: SET_DIRTY_TRACKING and GET_DIRTY_BITMAP EOPNOTSUPP, with advice
    auto h = hwpt::alloc(e.ctx, e.dev.dev_id(), e.as.id());
    REQUIRE_OK(h);
    auto sd = h->set_dirty_tracking(true);
    REQUIRE(!sd);
    CHECK(sd.error().code == EOPNOTSUPP);
    CHECK(std::string(sd.error().message).find("dirty_tracking") != std::string::npos);
    std::array<std::uint64_t, 1> bits{~std::uint64_t{0}};
    auto gb = h->get_dirty_bitmap(0x200000, 8 * 4096, 4096, bits);
    REQUIRE(!gb);
    CHECK(gb.error().code == EOPNOTSUPP);
    CHECK(bits[0] == 0);  // zeroed before the ioctl
    // a VT-d nested HWPT on a non-parent: EINVAL (iommufd: the parent must be a NEST_PARENT paging HWPT)
    uapi::iommu_hwpt_vtd_s1 s1{};
    s1.addr_width = 48;
    auto nested = hwpt::alloc_nested(e.ctx, e.dev.dev_id(), *h, s1);
    REQUIRE(!nested);
    INFO(text(nested));
    CHECK(nested.error().code == EINVAL);
    // HWPT_INVALIDATE on a paging HWPT: EINVAL, entry_num 0
    std::array<uapi::iommu_hwpt_vtd_s1_invalidate, 1> inv{};
    inv[0].npages = 1;
    auto out = h->invalidate(inv);
    REQUIRE(!out.status);
    CHECK(out.status.error().code == EINVAL);
    CHECK(out.done == 0);
    // PASID-compatible and fault-queue HWPTs are allocated in every mode
    auto pa = hwpt::alloc(e.ctx, e.dev.dev_id(), e.as.id(), hwpt_alloc_flag::pasid);
    REQUIRE_OK(pa);
    CHECK(pa->flags().has(hwpt_alloc_flag::pasid));
    auto fq = wire::iommufd::fault_queue_alloc();
    auto fq_fd = io::submit(e.ctx.fd(), fq);
    REQUIRE_OK(fq_fd);
    const std::uint32_t fault_id = fq.header().out_fault_id;
    {
        auto fh = hwpt::alloc(e.ctx, e.dev.dev_id(), e.as.id(), {}, fault_id);
        REQUIRE_OK(fh);
        CHECK(fh->flags().has(hwpt_alloc_flag::fault_id_valid));
    }
    fq_fd->reset();
    REQUIRE_OK(e.ctx.destroy(fault_id));
}

TEST_CASE("vm: hwpt PASID attach / replace / detach on edu: the kernel's exact answers", "[hwpt]") {
    if (no_iommufd_here()) return;
    auto e = open_edu();
    auto forms = e.dev.has_pasid_forms();
    REQUIRE_OK(forms);
    CHECK(*forms);  // 7.3 knows the flags
    // PASID 1 onto the IOAS: its automatic HWPT is not PASID-compatible (iommufd_hwpt_pasid_compat): EINVAL, and
    // the advice says it is the page table, not the kernel
    auto on_ioas = e.dev.attach_pasid(1, e.as.id());
    REQUIRE(!on_ioas);
    INFO(text(on_ioas));
    CHECK(on_ioas.error().code == EINVAL);
    CHECK(on_ioas.error().ioctl == "VFIO_DEVICE_ATTACH_IOMMUFD_PT");
    CHECK(std::string(on_ioas.error().message).find("PASID-compatible") != std::string::npos);
    // unknown pt_id: ENOENT
    auto unknown = e.dev.attach_pasid(1, 0xfffff);
    REQUIRE(!unknown);
    CHECK(unknown.error().code == ENOENT);
    // replace_pasid of a PASID never attached: refused before the ioctl
    auto early = e.dev.replace_pasid(1, e.as.id());
    REQUIRE(!early);
    CHECK(early.error().origin == error_origin::library);
    // the whole device onto a PASID-compatible HWPT, then PASID 1 onto another one: accepted in every mode. The
    // 7.3 core records the PASID (the group's pasid_array, iommufd's attach) but calls the driver's set_dev_pasid
    // only for devices with PASIDs (max_pasids > 0: __iommu_set_group_pasid); edu has none, so even legacy mode
    // (no ECAP.PASID, where intel_iommu_set_dev_pasid would say EOPNOTSUPP) takes it as bookkeeping.
    auto whole = hwpt::alloc(e.ctx, e.dev.dev_id(), e.as.id(), hwpt_alloc_flag::pasid);
    REQUIRE_OK(whole);
    auto ph = hwpt::alloc(e.ctx, e.dev.dev_id(), e.as.id(), hwpt_alloc_flag::pasid);
    REQUIRE_OK(ph);
    REQUIRE_OK(e.dev.replace(*whole));
    auto att = e.dev.attach_pasid(1, ph->id());
    fmt::print("pasid [{}]: attach_pasid(1, hwpt {}): {}\n", mode_name(), ph->id(), text(att));
    REQUIRE_OK(att);
    CHECK(*att == ph->id());
    REQUIRE(e.dev.pasids().size() == 1);
    CHECK(e.dev.pasids()[0] == 1);
    auto busy = e.ctx.destroy(ph->id());  // PASID 1 holds it
    REQUIRE(!busy);
    CHECK(busy.error().code == EBUSY);
    // the whole device cannot go back to the IOAS's non-PASID-compatible HWPT while a PASID is attached
    auto non_compat = e.dev.replace(e.as.id());
    REQUIRE(!non_compat);
    CHECK(non_compat.error().code == EINVAL);
    auto rep = e.dev.replace_pasid(1, whole->id());
    fmt::print("pasid [{}]: replace_pasid(1, hwpt {}): {}\n", mode_name(), whole->id(), text(rep));
    REQUIRE_OK(rep);
    CHECK(*rep == whole->id());
    REQUIRE_OK(ph->destroy());  // no longer used
    REQUIRE_OK(e.dev.detach_pasid(1));
    CHECK(e.dev.pasids().empty());
    // detach of a PASID never attached: a no-op for the kernel
    REQUIRE_OK(e.dev.detach_pasid(7));
    REQUIRE_OK(e.dev.replace(e.as.id()));
}

TEST_CASE("vm: hwpt on the IOMMUFD_TEST mock: GET_HW_INFO of a driver's own type, nested with the selftest data, "
          "invalidation progress, dirty bitmap indexing, destroy order",
          "[hwpt]") {
    if (no_iommufd_here()) return;
    auto ctx = iommufd::open();
    REQUIRE_OK(ctx);
    auto as = ctx->alloc_ioas();
    REQUIRE_OK(as);
    REQUIRE_OK(as->set_huge_pages(false));  // PAGE_SIZE PTEs: one dirty bit per 4 KiB page
    auto md = mock_domain(*ctx, as->id());
    REQUIRE_OK(md);
    CHECK(md->idev != 0);

    SECTION("GET_HW_INFO: the mock's own type, read through hw_info_traits") {
        auto info = get_hw_info(*ctx, md->idev);
        REQUIRE_OK(info);
        CHECK(static_cast<std::uint32_t>(info->type) == mock::hw_info_type_selftest);
        CHECK(std::holds_alternative<std::monostate>(info->data));
        CHECK(info->data_len == sizeof(mock::test_hw_info));
        auto t = info->as<mock::test_hw_info>();
        REQUIRE(t.has_value());
        CHECK(t->test_reg == mock::hw_info_selftest_regval);
    }

    SECTION("nested HWPT with the selftest data; invalidation stops at the bad entry; destroy order") {
        std::uint32_t parent_id = 0, nested_id = 0;
        {
            auto parent = hwpt::alloc(*ctx, md->idev, as->id(), hwpt_alloc_flag::nest_parent);
            REQUIRE_OK(parent);
            parent_id = parent->id();
            auto nested = hwpt::alloc_nested(*ctx, md->idev, *parent, mock::hwpt_selftest{mock::iotlb_default, 0});
            REQUIRE_OK(nested);
            nested_id = nested->id();
            CHECK(nested->parent_id() == parent_id);
            CHECK(nested_id != parent_id);

            // the parent is not nested: EINVAL, nothing handled
            std::array<mock::hwpt_invalidate_selftest, 1> one{{{0, 1}}};
            auto p = parent->invalidate(one);
            REQUIRE(!p.status);
            CHECK(p.status.error().code == EINVAL);
            CHECK(p.done == 0);
            // two entries, the second past the mock's 4 IOTLBs: the first handled, the error for the second
            std::array<mock::hwpt_invalidate_selftest, 3> three{{{0, 1}, {0, 4}, {0, 2}}};
            auto out = nested->invalidate(std::span<const mock::hwpt_invalidate_selftest>(three));
            REQUIRE(!out.status);
            INFO(text(out.status));
            CHECK(out.status.error().code == EINVAL);
            CHECK(out.done == 1);
            CHECK(out.status.error().values[1].name == "entry_num");
            CHECK(out.status.error().values[1].value == 1);
            std::array<mock::hwpt_invalidate_selftest, 2> good{{{0, 0}, {mock::invalidate_flag_all, 0}}};
            auto ok = nested->invalidate(good);
            REQUIRE_OK(ok.status);
            CHECK(ok.done == 2);

            // the parent cannot go while the nested HWPT stands on it
            auto busy = ctx->destroy(parent_id);
            REQUIRE(!busy);
            CHECK(busy.error().code == EBUSY);
        }  // nested goes first (declared last), then the parent
        CHECK(ctx->destroy(nested_id).error().code == ENOENT);
        CHECK(ctx->destroy(parent_id).error().code == ENOENT);
    }

    SECTION("dirty tracking: bits relative to the requested iova, cleared by a read, kept with keep") {
        constexpr std::uint64_t page = 4096, pages = 128;
        page_buffer ram(pages * page);
        REQUIRE(ram.data() != nullptr);
        std::memset(ram.data(), 1, pages * page);
        auto m = as->map(ram.data(), pages * page, dma_access::read_write, mock::aperture_start);
        REQUIRE_OK(m);
        auto h = hwpt::alloc(*ctx, md->idev, as->id(), hwpt_alloc_flag::dirty_tracking);
        REQUIRE_OK(h);
        REQUIRE_OK(h->set_dirty_tracking(true));
        // mark pages 5, 6, 40, 69 and 127 of the mapping dirty in the mock's page table
        std::array<std::uint64_t, 2> mark{};
        const std::set<std::uint64_t> marked{5, 6, 40, 69, 127};
        for (auto n : marked) mark[n / 64] |= std::uint64_t{1} << (n % 64);
        auto nr = mock_mark_dirty(*ctx, h->id(), mock::aperture_start, pages * page, page, mark);
        REQUIRE_OK(nr);
        CHECK(*nr == marked.size());
        auto set_bits = [](std::span<const std::uint64_t> b, std::uint64_t n) {
            std::set<std::uint64_t> s;
            for (std::uint64_t i = 0; i < n; ++i)
                if (hwpt::dirty_page(b, i)) s.insert(i);
            return s;
        };
        // read pages [5, 105): bit n is page 5 + n (relative to the iova asked for, not to IOVA 0)
        std::array<std::uint64_t, 2> bits{};
        auto n1 = h->get_dirty_bitmap(mock::aperture_start + 5 * page, 100 * page, page, bits);
        REQUIRE_OK(n1);
        CHECK(*n1 == 4);
        CHECK(set_bits(bits, 128) == std::set<std::uint64_t>{0, 1, 35, 64});
        CHECK(bits[0] == ((std::uint64_t{1} << 0) | (std::uint64_t{1} << 1) | (std::uint64_t{1} << 35)));
        CHECK(bits[1] == 1);
        // that read cleared what it reported; page 127 (outside it) is still dirty, and `keep` leaves it so
        auto n2 = h->get_dirty_bitmap(mock::aperture_start, pages * page, page, bits, dirty_read::keep);
        REQUIRE_OK(n2);
        CHECK(*n2 == 1);
        CHECK(set_bits(bits, 128) == std::set<std::uint64_t>{127});
        auto n3 = h->get_dirty_bitmap(mock::aperture_start, pages * page, page, bits);
        REQUIRE_OK(n3);
        CHECK(*n3 == 1);
        auto n4 = h->get_dirty_bitmap(mock::aperture_start, pages * page, page, bits);
        REQUIRE_OK(n4);
        CHECK(*n4 == 0);
        CHECK(bits == std::array<std::uint64_t, 2>{});
        // a coarser granularity: 2 pages a bit, from page 4: pages 5 and 6 fall in bits 0 and 1
        REQUIRE(mock_mark_dirty(*ctx, h->id(), mock::aperture_start, pages * page, page, mark).has_value());
        auto n5 = h->get_dirty_bitmap(mock::aperture_start + 4 * page, 64 * page, 2 * page, bits);
        REQUIRE_OK(n5);
        CHECK(set_bits(bits, 64) == std::set<std::uint64_t>{0, 1, 18});  // pages 5, 6, 40 -> (n - 4) / 2
        // an iova not a multiple of page_size is refused before the ioctl
        auto bad = h->get_dirty_bitmap(mock::aperture_start + page, 4 * page, 2 * page, bits);
        REQUIRE(!bad);
        CHECK(bad.error().origin == error_origin::library);
        REQUIRE_OK(h->set_dirty_tracking(false));
    }
    REQUIRE_OK(ctx->destroy(md->stdev));  // the mock device leaves the IOAS, which can then go
}
