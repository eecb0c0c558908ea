// Capability chains over hand-built reply buffers: the testbed's real VFIO_IOMMU_GET_INFO reply, region and
// device chains, and every malformation caps.hpp promises to reject.
#include <vfiopp/wire/caps.hpp>

#include <catch2/catch_test_macros.hpp>

#include <cerrno>
#include <cstring>
#include <vector>

using namespace vfiopp;
using namespace vfiopp::uapi;

namespace {

/// A flags field as its integer: mirrors hold bitmask<E> where the uapi header names the bits, else an integer.
template <typename V>
std::uint64_t raw(V v) {
    if constexpr (is_bitmask_v<V>)
        return v.bits();
    else
        return static_cast<std::uint64_t>(v);
}

/// A reply buffer under construction: put<T>(offset, value) writes little-endian integers byte by byte.
struct buffer {
    std::vector<std::byte> b;
    explicit buffer(std::size_t n) : b(n) {}
    template <typename T>
    void put(std::size_t off, T v) {
        for (std::size_t i = 0; i < sizeof(T); ++i) b.at(off + i) = std::byte(static_cast<std::uint64_t>(v) >> (8 * i) & 0xff);
    }
    void cap(std::size_t off, u16 id, u16 version, u32 next) {
        put<u16>(off, id);
        put<u16>(off + 2, version);
        put<u32>(off + 4, next);
    }
    std::span<const std::byte> span() const { return b; }
};

/// What the testbed's kernel (7.3, emulated VT-d) returned for VFIO_IOMMU_GET_INFO (TESTBED.md): argsz 120, flags
/// PGSIZES|CAPS, iova_pgsizes 0x40201000, chain MIGRATION(2) @24 -> DMA_AVAIL(3) @56 -> IOVA_RANGE(1) @72.
buffer testbed_iommu_info() {
    buffer r(120);
    r.put<u32>(0, 120);
    r.put<u32>(4, 0x3);
    r.put<u64>(8, 0x40201000);
    r.put<u32>(16, 24);
    r.cap(24, 2, 1, 56);  // MIGRATION: flags, pgsize_bitmap, max_dirty_bitmap_size
    r.put<u32>(32, 0);
    r.put<u64>(40, 0x1000);
    r.put<u64>(48, 0x10000000);
    r.cap(56, 3, 1, 72);  // DMA_AVAIL (12 bytes, padded to 16)
    r.put<u32>(64, 65535);
    r.cap(72, 1, 1, 0);  // IOVA_RANGE with two ranges
    r.put<u32>(80, 2);
    r.put<u64>(88, 0);
    r.put<u64>(96, 0xfedfffff);
    r.put<u64>(104, 0xfef00000);
    r.put<u64>(112, 0xffffffffffff);
    return r;
}

template <typename Chain>
void check_error(const buffer& r, std::string_view field, int err) {
    auto chain = Chain::parse(r.span());
    REQUIRE_FALSE(chain.has_value());
    INFO(chain.error().message);
    CHECK(chain.error().field == field);
    CHECK(chain.error().code == err);
    CHECK_FALSE(chain.error().message.empty());
}

}  // namespace

// What Debian 12's 6.1 kernel returns: capabilities packed back to back (4-aligned), IOVA_RANGE at 68 right after
// the 12-byte DMA_AVAIL (kernels since 6.5 align each capability to 8).
TEST_CASE("a 6.1 kernel's 4-aligned VFIO_IOMMU_GET_INFO chain decodes", "[caps]") {
    buffer r(116);
    r.put<u32>(0, 116);
    r.put<u32>(4, 0x3);
    r.put<u64>(8, 0x40201000);
    r.put<u32>(16, 24);
    r.cap(24, 2, 1, 56);  // MIGRATION
    r.put<u64>(40, 0x1000);
    r.cap(56, 3, 1, 68);  // DMA_AVAIL, 12 bytes, not padded
    r.put<u32>(64, 65535);
    r.cap(68, 1, 1, 0);  // IOVA_RANGE at 68 (4 mod 8): its u64 ranges are read by copy
    r.put<u32>(76, 2);
    r.put<u64>(84, 0);
    r.put<u64>(92, 0xfedfffff);
    r.put<u64>(100, 0xfef00000);
    r.put<u64>(108, 0xffffffffffff);
    auto chain = wire::iommu_info_chain::parse(r.span());
    REQUIRE(chain.has_value());
    CHECK(chain->size() == 3);
    auto ranges = chain->find<wire::iova_range_cap>();
    REQUIRE(ranges.has_value());
    REQUIRE(ranges->ranges.size() == 2);
    CHECK(ranges->ranges[0].end == 0xfedfffff);
    CHECK(ranges->ranges[1].start == 0xfef00000);
    CHECK(ranges->ranges[1].end == 0xffffffffffff);
    auto dma = chain->find<wire::dma_avail_cap>();
    REQUIRE(dma.has_value());
}

TEST_CASE("the testbed's VFIO_IOMMU_GET_INFO reply decodes to its three capabilities", "[caps]") {
    auto r = testbed_iommu_info();
    auto chain = wire::iommu_info_chain::parse(r.span());
    REQUIRE(chain.has_value());
    CHECK(chain->reply().argsz == 120);
    CHECK(chain->reply().iova_pgsizes == 0x40201000);
    CHECK_FALSE(chain->truncated());
    CHECK(chain->size() == 3);

    std::vector<std::size_t> kinds, offsets;
    for (const auto& cap : *chain) {
        kinds.push_back(cap.index());
        offsets.push_back(std::visit([](const auto& c) { return c.offset; }, cap));
    }
    CHECK(kinds == std::vector<std::size_t>{1, 2, 0});  // migration, dma_avail, iova_range
    CHECK(offsets == std::vector<std::size_t>{24, 56, 72});

    auto mig = chain->find<wire::migration_cap>();
    REQUIRE(mig);
    CHECK(mig->value.pgsize_bitmap == 0x1000);
    CHECK(mig->value.max_dirty_bitmap_size == 0x10000000);
    CHECK(mig->bytes.size() == 32);

    auto avail = chain->find<wire::dma_avail_cap>();
    REQUIRE(avail);
    CHECK(avail->value.avail == 65535);
    CHECK(avail->header().next == 72);

    auto iova = chain->find<wire::iova_range_cap>();
    REQUIRE(iova);
    CHECK(iova->value.nr_iovas == 2);
    REQUIRE(iova->ranges.size() == 2);
    CHECK(iova->ranges[0].start == 0);
    CHECK(iova->ranges[0].end == 0xfedfffff);
    CHECK(iova->ranges[1].start == 0xfef00000);
    CHECK(iova->ranges[1].end == 0xffffffffffff);
    std::vector<u64> ends;
    for (vfio_iova_range range : iova->ranges) ends.push_back(range.end);
    CHECK(ends == std::vector<u64>{0xfedfffff, 0xffffffffffff});
    CHECK_FALSE(iova->ranges.at(2).has_value());
    CHECK(chain->find<wire::unknown_cap>() == std::nullopt);
}

TEST_CASE("the same ids decode as v7 NESTING under the proposal's ABI", "[caps]") {
    buffer r(24 + 64);
    r.put<u32>(0, 88);
    r.put<u32>(4, 0x3);
    r.put<u32>(16, 24);
    r.cap(24, 3, 1, 0);
    r.put<u32>(32, 56);         // info.argsz
    r.put<u32>(40, 1);          // info.format: INTEL_VTD
    r.put<u32>(44, 0x7);        // info.features
    r.put<u16>(48, 48);         // addr_width
    r.put<u16>(50, 20);         // pasid_bits
    r.put<u64>(72, 0x00d2008c222f0606);  // vendor.vtd.cap_reg (vendor at info + 32, hole at + 4)
    r.put<u64>(80, 0x490080f00f4a);      // vendor.vtd.ecap_reg
    auto v7 = wire::iommu_info_chain_v7::parse(r.span());
    REQUIRE(v7.has_value());
    auto n = v7->find<wire::nesting_cap>();
    REQUIRE(n);
    CHECK(raw(n->value.info.features) == 0x7);
    CHECK(n->value.info.pasid_bits == 20);
    CHECK(n->value.info.vendor.vtd.cap_reg == 0x00d2008c222f0606);
    CHECK(n->value.info.vendor.vtd.ecap_reg == 0x490080f00f4a);
    // mainline reads id 3 as DMA_AVAIL
    auto mainline = wire::iommu_info_chain::parse(r.span());
    REQUIRE(mainline.has_value());
    REQUIRE(mainline->find<wire::dma_avail_cap>());
    CHECK(mainline->find<wire::dma_avail_cap>()->value.avail == 56);
}

TEST_CASE("region info: sparse mmap, type, msix mappable and an unknown cap", "[caps]") {
    buffer r(32 + 48 + 16 + 8 + 16);
    r.put<u32>(0, static_cast<u32>(r.b.size()));
    r.put<u32>(4, 0xf);  // read|write|mmap|caps
    r.put<u32>(12, 32);
    r.put<u64>(16, 0x100000);
    r.cap(32, 1, 1, 80);  // SPARSE_MMAP, 2 areas
    r.put<u32>(40, 2);
    r.put<u64>(48, 0);
    r.put<u64>(56, 0x2000);
    r.put<u64>(64, 0x3000);
    r.put<u64>(72, 0xfd000);
    r.cap(80, 2, 1, 96);  // TYPE
    r.put<u32>(88, 0x80008086);
    r.put<u32>(92, 3);
    r.cap(96, 3, 1, 104);  // MSIX_MAPPABLE: header only
    r.cap(104, 4, 1, 0);   // NVLINK2_SSATGT: POWER-only, left unknown
    r.put<u64>(112, 0xabcdef);
    auto chain = wire::region_info_chain::parse(r.span());
    REQUIRE(chain.has_value());
    CHECK(chain->size() == 4);
    auto sparse = chain->find<wire::sparse_mmap_cap>();
    REQUIRE(sparse);
    REQUIRE(sparse->areas.size() == 2);
    CHECK(sparse->areas[1].offset == 0x3000);
    CHECK(sparse->areas[1].size == 0xfd000);
    auto type = chain->find<wire::region_type_cap>();
    REQUIRE(type);
    CHECK(raw(type->value.type) == 0x80008086);
    CHECK(raw(type->value.subtype) == 3);
    REQUIRE(chain->find<wire::msix_mappable_cap>());
    auto unknown = chain->find<wire::unknown_cap>();
    REQUIRE(unknown);
    CHECK(unknown->id() == 4);
    CHECK(unknown->offset == 104);
    CHECK(unknown->bytes.size() == 16);
}

TEST_CASE("device info: PCI atomic completer cap; s390 ids are unknown", "[caps]") {
    buffer r(24 + 16 + 8);
    r.put<u32>(0, 48);
    r.put<u32>(4, 0x82);  // pci|caps
    r.put<u32>(8, 9);
    r.put<u32>(12, 5);
    r.put<u32>(16, 24);
    r.cap(24, 5, 1, 40);
    r.put<u32>(32, 0x3);
    r.cap(40, 1, 1, 0);  // ZPCI_BASE
    auto chain = wire::device_info_chain::parse(r.span());
    REQUIRE(chain.has_value());
    auto atomic = chain->find<wire::pci_atomic_comp_cap>();
    REQUIRE(atomic);
    CHECK(raw(atomic->value.flags) == 0x3);
    REQUIRE(chain->find<wire::unknown_cap>());
    CHECK(chain->find<wire::unknown_cap>()->id() == 1);
}

TEST_CASE("no chain: CAPS flag clear, or set with cap_offset 0 (buffer too small)", "[caps]") {
    auto r = testbed_iommu_info();
    r.put<u32>(4, 0x1);  // CAPS clear: cap_offset is ignored even though it is 24
    auto none = wire::iommu_info_chain::parse(r.span());
    REQUIRE(none.has_value());
    CHECK(none->empty());
    CHECK(none->begin() == none->end());
    CHECK_FALSE(none->truncated());

    buffer small(24);  // the kernel's answer to argsz 24: CAPS set, cap_offset 0, argsz raised to 120
    small.put<u32>(0, 120);
    small.put<u32>(4, 0x3);
    auto t = wire::iommu_info_chain::parse(small.span());
    REQUIRE(t.has_value());
    CHECK(t->truncated());
    CHECK(t->required_argsz() == 120);
    CHECK(t->size() == 0);
}

TEST_CASE("malformed chains are errors, never undefined behaviour", "[caps]") {
    using chain = wire::iommu_info_chain;
    SECTION("reply shorter than its struct") {
        buffer r(20);
        auto c = chain::parse(r.span());
        REQUIRE_FALSE(c.has_value());
        CHECK(c.error().ioctl == "VFIO_IOMMU_GET_INFO");
        CHECK(c.error().field == "argsz");
        CHECK(c.error().code == EINVAL);
    }
    SECTION("cap_offset outside the buffer") {
        auto r = testbed_iommu_info();
        r.put<u32>(16, 4096);
        check_error<chain>(r, "cap_offset", EOVERFLOW);
    }
    SECTION("next outside the buffer") {
        auto r = testbed_iommu_info();
        r.put<u32>(76, 128);
        check_error<chain>(r, "next", EOVERFLOW);
    }
    SECTION("a chain beyond argsz is outside the reply even when the buffer is larger") {
        auto r = testbed_iommu_info();
        r.put<u32>(0, 72);  // the kernel only wrote 72 bytes: IOVA_RANGE at 72 is not there
        check_error<chain>(r, "next", EOVERFLOW);
    }
    SECTION("misaligned header") {
        auto r = testbed_iommu_info();
        r.put<u32>(16, 26);
        check_error<chain>(r, "cap_offset", EINVAL);
    }
    SECTION("backwards offset") {
        auto r = testbed_iommu_info();
        r.put<u32>(76, 56);  // IOVA_RANGE -> DMA_AVAIL again
        check_error<chain>(r, "next", EINVAL);
    }
    SECTION("loop onto itself") {
        auto r = testbed_iommu_info();
        r.put<u32>(76, 72);
        auto c = chain::parse(r.span());
        REQUIRE_FALSE(c.has_value());
        CHECK(c.error().field == "next");
        CHECK(c.error().code == EINVAL);
        CHECK(c.error().message.find("loop") != std::string::npos);
    }
    SECTION("first capability overlapping the reply's own struct") {
        auto r = testbed_iommu_info();
        r.put<u32>(16, 16);
        check_error<chain>(r, "cap_offset", EINVAL);
    }
    SECTION("next pointing inside the current capability") {
        auto r = testbed_iommu_info();
        r.put<u32>(28, 48);  // MIGRATION is 32 bytes at 24: 48 is inside it
        check_error<chain>(r, "next", EINVAL);
    }
    SECTION("truncated fixed-size capability at the end of the reply") {
        buffer r(24 + 16);
        r.put<u32>(0, 40);
        r.put<u32>(4, 0x3);
        r.put<u32>(16, 24);
        r.cap(24, 2, 1, 0);  // MIGRATION needs 32 bytes, 16 available
        check_error<chain>(r, "migration", EOVERFLOW);
    }
    SECTION("capability header cut by the end of the reply") {
        buffer r(28);
        r.put<u32>(0, 28);
        r.put<u32>(4, 0x3);
        r.put<u32>(16, 24);
        check_error<chain>(r, "cap_offset", EOVERFLOW);
    }
    SECTION("truncated array") {
        auto r = testbed_iommu_info();
        r.put<u32>(80, 3);  // three ranges claimed, two present
        check_error<chain>(r, "nr_iovas", EOVERFLOW);
    }
    SECTION("huge element count") {
        auto r = testbed_iommu_info();
        r.put<u32>(80, 0xffffffff);
        check_error<chain>(r, "nr_iovas", EOVERFLOW);
    }
    SECTION("array cut by the next capability") {
        buffer r(32 + 48 + 16);
        r.put<u32>(0, 96);
        r.put<u32>(4, 0xf);
        r.put<u32>(12, 32);
        r.cap(32, 1, 1, 64);  // SPARSE_MMAP with 2 areas (48 bytes) but next at 64
        r.put<u32>(40, 2);
        r.cap(64, 2, 1, 0);
        check_error<wire::region_info_chain>(r, "nr_areas", EOVERFLOW);
    }
}

TEST_CASE("unaligned_array: count * size overflow and bounds are errors", "[caps]") {
    std::vector<std::byte> buf(64);
    auto huge = wire::unaligned_array<vfio_iova_range>::make(buf, 0, std::numeric_limits<std::size_t>::max() / 8,
                                                              "X", "count");
    REQUIRE_FALSE(huge.has_value());
    CHECK(huge.error().code == EOVERFLOW);
    auto past = wire::unaligned_array<vfio_iova_range>::make(buf, 40, 2, "X", "count");
    REQUIRE_FALSE(past.has_value());
    auto offset_overflow =
        wire::unaligned_array<vfio_iova_range>::make(buf, std::numeric_limits<std::size_t>::max() - 8, 1, "X", "count");
    REQUIRE_FALSE(offset_overflow.has_value());
    auto ok = wire::unaligned_array<vfio_iova_range>::make(buf, 3, 3, "X", "count");  // misaligned on purpose
    REQUIRE(ok.has_value());
    CHECK(ok->size() == 3);
    CHECK(std::distance(ok->begin(), ok->end()) == 3);
}

TEST_CASE("capabilities at misaligned buffer addresses are read by copy", "[caps]") {
    auto r = testbed_iommu_info();
    std::vector<std::byte> shifted(r.b.size() + 1);
    std::memcpy(shifted.data() + 1, r.b.data(), r.b.size());
    auto chain = wire::iommu_info_chain::parse(std::span<const std::byte>(shifted).subspan(1));
    REQUIRE(chain.has_value());
    REQUIRE(chain->find<wire::iova_range_cap>());
    CHECK(chain->find<wire::iova_range_cap>()->ranges[1].end == 0xffffffffffff);
}
