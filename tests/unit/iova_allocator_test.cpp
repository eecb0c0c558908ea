// iova_allocator: first-fit IOVAs inside the IOMMU's usable ranges at its alignment, fixed reservations, exact
// releases; the merge of the input ranges; the ends of the address space (ranges ending at UINT64_MAX, sizes and
// alignments whose rounding would pass 2^64); and a randomized run against a model kept in a std::map, with the
// model's arithmetic done in 128 bits so that it cannot share a wrap-around with the allocator.
#include <vfiopp/iova_allocator.hpp>

#include <catch2/catch_test_macros.hpp>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <iterator>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

using vfiopp::iova_allocator;
using vfiopp::iova_range;
using u64 = std::uint64_t;

template <>
struct Catch::StringMaker<vfiopp::iova_range> {
    static std::string convert(const vfiopp::iova_range& r) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "[%#llx, %#llx]", static_cast<unsigned long long>(r.start),
                      static_cast<unsigned long long>(r.last));
        return buf;
    }
};

namespace {

constexpr u64 max64 = std::numeric_limits<u64>::max();
constexpr std::string_view no_space = "no free IOVA range that large inside the IOMMU's usable ranges";

iova_allocator make(const std::vector<iova_range>& ranges, u64 alignment = 4096) {
    auto a = iova_allocator::create(ranges, alignment);
    REQUIRE(a.has_value());
    return *a;
}

std::vector<iova_range> free_of(const iova_allocator& a) {
    auto s = a.free_ranges();
    return {s.begin(), s.end()};
}

/// r is a library error of op on field with errno code and some message.
template <typename T>
void check_refused(const vfiopp::result<T>& r, std::string_view op, std::string_view field, int code) {
    REQUIRE_FALSE(r.has_value());
    const vfiopp::error& e = r.error();
    CHECK(e.ioctl == op);
    CHECK(e.field == field);
    CHECK(e.code == code);
    CHECK(e.origin == vfiopp::error_origin::library);
    CHECK_FALSE(e.message.empty());
}

#define CHECK_REFUSED(expr, op, field, code)               \
    do {                                                   \
        INFO("refusal checked at line " << __LINE__);      \
        check_refused((expr), (op), (field), (code));      \
    } while (0)

bool overlaps(iova_range x, u64 start, u64 last) { return x.start <= last && start <= x.last; }

}  // namespace

TEST_CASE("iova_allocator: allocate within one range", "[iova]") {
    iova_allocator a = make({{0x10000, 0x1ffff}});
    CHECK(a.alignment() == 4096);
    CHECK(a.free_bytes() == 0x10000);
    CHECK(a.allocate(0x1000) == 0x10000);
    CHECK(a.allocate(1) == 0x11000);  // rounded up to one page
    CHECK(a.allocate(0x2001) == 0x12000);  // rounded up to three pages
    CHECK(free_of(a) == std::vector<iova_range>{{0x15000, 0x1ffff}});
    CHECK(a.free_bytes() == 0xb000);

    CHECK_REFUSED(a.allocate(0), "iova_allocator::allocate", "size", EINVAL);
    auto big = a.allocate(0xb001);
    CHECK_REFUSED(big, "iova_allocator::allocate", "size", ENOSPC);
    CHECK(big.error().message == no_space);
    CHECK(a.free_bytes() == 0xb000);  // the refusals took nothing

    CHECK(a.allocate(0xb000) == 0x15000);
    CHECK(a.free_bytes() == 0);
    CHECK(a.free_ranges().empty());
    CHECK_REFUSED(a.allocate(1), "iova_allocator::allocate", "size", ENOSPC);
}

TEST_CASE("iova_allocator: alignment honoured", "[iova]") {
    SECTION("allocator alignment 2 MiB, ranges starting at odd addresses") {
        constexpr u64 mib2 = 2 << 20;
        iova_allocator a = make({{0x1234, 0x5fffff}, {0x800001, 0xbfffff}}, mib2);
        CHECK(a.alignment() == mib2);
        CHECK(a.allocate(1) == 0x200000);         // not 0x1234: the first 2 MiB boundary in the range
        CHECK(a.allocate(0x1000) == 0x400000);    // size rounded to 2 MiB: [0x400000, 0x5fffff]
        CHECK(a.allocate(mib2) == 0xa00000);      // 0x800001 rounds up to 0xa00000; [0xa00000, 0xbfffff]
        CHECK_REFUSED(a.allocate(1), "iova_allocator::allocate", "size", ENOSPC);  // the odd ends are < 2 MiB
        CHECK(free_of(a) == std::vector<iova_range>{{0x1234, 0x1fffff}, {0x800001, 0x9fffff}});
        CHECK(a.free_bytes() == (0x200000 - 0x1234) + (0xa00000 - 0x800001));
        // A release rounds its size the same way the allocation did.
        CHECK(a.release(0x400000, 0x1000).has_value());
        CHECK(a.allocate(0x1fffff) == 0x400000);
    }
    SECTION("per-call alignment above the allocator's; below it the allocator's wins") {
        iova_allocator a = make({{0x1000, 0x7fffffff}});
        CHECK(a.allocate(0x1000, 1 << 20) == 0x100000);
        CHECK(a.allocate(0x1000) == 0x1000);        // first fit goes back below
        CHECK(a.allocate(0x1000, 0x800) == 0x2000);  // 2 KiB asked, 4 KiB (the allocator's) used
        CHECK(a.allocate(0x1000, 1 << 30) == 0x40000000);
        CHECK(a.allocate(0x1000, 0x10000) == 0x10000);
        CHECK_REFUSED(a.allocate(0x1000, 3), "iova_allocator::allocate", "align", EINVAL);
        CHECK_REFUSED(a.allocate(0x1000, 0x3000), "iova_allocator::allocate", "align", EINVAL);
        CHECK(a.free_bytes() == 0x7ffff000 - 5 * 0x1000);
    }
    SECTION("alignment whose rounding would pass UINT64_MAX") {
        iova_allocator a = make({{0x8000000000000001, max64}});
        CHECK_REFUSED(a.allocate(0x1000, u64{1} << 63), "iova_allocator::allocate", "size", ENOSPC);
        CHECK(a.free_bytes() == 0x7fffffffffffffff);
        iova_allocator b = make({{0x1000, max64}});
        CHECK(b.allocate(0x1000, u64{1} << 63) == u64{1} << 63);
        CHECK_REFUSED(b.allocate(0x1000, u64{1} << 63), "iova_allocator::allocate", "size", ENOSPC);
    }
}

TEST_CASE("iova_allocator: VT-d ranges, never in the MSI window 0xfee00000-0xfeefffff", "[iova]") {
    const std::vector<iova_range> vtd{{0, 0xfedfffff}, {0xfef00000, 0x7fffffffffff}};
    constexpr iova_range msi{0xfee00000, 0xfeefffff};
    iova_allocator a = make(vtd);
    CHECK(free_of(a) == vtd);
    CHECK(a.free_bytes() == 0xfee00000 + (0x800000000000 - 0xfef00000));

    SECTION("1 GiB blocks skip the window") {
        constexpr u64 gib = u64{1} << 30;
        CHECK(a.allocate(gib, gib) == 0);
        CHECK(a.allocate(gib, gib) == gib);
        CHECK(a.allocate(gib, gib) == 2 * gib);
        CHECK(a.allocate(gib, gib) == 0x100000000);  // [0xc0000000, 0xffffffff] would cover the window
        CHECK(a.allocate(16 << 20) == 0xc0000000);   // first fit goes back below the window
        // What is left below the window is [0xc1000000, 0xfedfffff]: exactly that fits, one page more does not.
        CHECK(a.allocate(0xfee00000 - 0xc1000000 + 0x1000) == 0x140000000);
        CHECK(a.allocate(0xfee00000 - 0xc1000000) == 0xc1000000);
        CHECK(free_of(a).front().start == 0xfef00000);
    }
    SECTION("filling the space below the window in 1 MiB steps never touches it") {
        u64 n = 0;
        u64 iova = 0;
        do {
            auto r = a.allocate(1 << 20);
            REQUIRE(r.has_value());
            iova = *r;
            REQUIRE_FALSE(overlaps(msi, iova, iova + (1 << 20) - 1));
            REQUIRE(iova == (n < 0xfee ? n << 20 : 0xfef00000));
            ++n;
        } while (iova < msi.start);
        CHECK(n == 0xfef);  // 0xfee blocks below the window, then the first above it
    }
    SECTION("reservations in or across the window are outside the usable ranges") {
        CHECK_REFUSED(a.reserve(0xfee00000, 0x1000), "iova_allocator::reserve", "iova", ERANGE);
        CHECK_REFUSED(a.reserve(0xfed00000, 0x200000), "iova_allocator::reserve", "iova", ERANGE);
        CHECK_REFUSED(a.reserve(0xfeeff000, 0x2000), "iova_allocator::reserve", "iova", ERANGE);
        CHECK_REFUSED(a.reserve(0x7ffffffff000, 0x2000), "iova_allocator::reserve", "iova", ERANGE);
        CHECK(free_of(a) == vtd);
        CHECK(a.reserve(0xfedff000, 0x1000).has_value());  // the last page below the window
        CHECK(a.reserve(0xfef00000, 0x1000).has_value());  // the first page above it
        CHECK(free_of(a) == std::vector<iova_range>{{0, 0xfedfefff}, {0xfef01000, 0x7fffffffffff}});
    }
}

TEST_CASE("iova_allocator: exhaustion gives ENOSPC, a release makes room again", "[iova]") {
    const iova_range whole{0x100000, 0x10ffff};
    iova_allocator a = make({whole});
    for (u64 i = 0; i < 16; ++i) CHECK(a.allocate(0x1000) == 0x100000 + i * 0x1000);
    auto full = a.allocate(0x1000);
    CHECK_REFUSED(full, "iova_allocator::allocate", "size", ENOSPC);
    CHECK(full.error().message == no_space);
    CHECK(a.free_bytes() == 0);
    CHECK(a.free_ranges().empty());

    REQUIRE(a.release(0x105000, 0x1000).has_value());
    CHECK(free_of(a) == std::vector<iova_range>{{0x105000, 0x105fff}});
    CHECK(a.allocate(0x1000) == 0x105000);
    CHECK_REFUSED(a.allocate(0x1000), "iova_allocator::allocate", "size", ENOSPC);

    REQUIRE(a.release(0x107000, 0x1000).has_value());
    REQUIRE(a.release(0x106000, 0x1000).has_value());  // joins the free page after it
    CHECK(free_of(a) == std::vector<iova_range>{{0x106000, 0x107fff}});
    CHECK_REFUSED(a.allocate(0x3000), "iova_allocator::allocate", "size", ENOSPC);
    CHECK(a.allocate(0x2000) == 0x106000);

    for (u64 i = 0; i < 16; ++i)
        if (i != 6 && i != 7) REQUIRE(a.release(0x100000 + i * 0x1000, 0x1000).has_value());
    REQUIRE(a.release(0x106000, 0x2000).has_value());
    CHECK(free_of(a) == std::vector<iova_range>{whole});
    CHECK(a.free_bytes() == 0x10000);
}

TEST_CASE("iova_allocator: release of anything not allocated is EINVAL and changes nothing", "[iova]") {
    iova_allocator a = make({{0x100000, 0x1fffff}});
    REQUIRE(a.allocate(0x1000) == 0x100000);
    REQUIRE(a.allocate(0x3000) == 0x101000);
    REQUIRE(a.reserve(0x180000, 0x2000).has_value());
    const std::vector<iova_range> before = free_of(a);
    const u64 free_before = a.free_bytes();

    CHECK_REFUSED(a.release(0x150000, 0x1000), "iova_allocator::release", "iova", EINVAL);  // free space
    CHECK_REFUSED(a.release(0x101000, 0x1000), "iova_allocator::release", "iova", EINVAL);  // part of one
    CHECK_REFUSED(a.release(0x102000, 0x1000), "iova_allocator::release", "iova", EINVAL);  // its middle
    CHECK_REFUSED(a.release(0x101000, 0x4000), "iova_allocator::release", "iova", EINVAL);  // more than it
    CHECK_REFUSED(a.release(0x100000, 0x4000), "iova_allocator::release", "iova", EINVAL);  // two at once
    CHECK_REFUSED(a.release(0x101000, 0), "iova_allocator::release", "iova", EINVAL);
    CHECK_REFUSED(a.release(0x101000, max64), "iova_allocator::release", "iova", EINVAL);  // rounding overflows
    CHECK_REFUSED(a.release(0x180000, 0x1000), "iova_allocator::release", "iova", EINVAL);  // part of a reserve
    CHECK(free_of(a) == before);
    CHECK(a.free_bytes() == free_before);

    CHECK(a.release(0x101000, 0x2001).has_value());  // rounds to 0x3000, as the allocation did
    CHECK_REFUSED(a.release(0x101000, 0x3000), "iova_allocator::release", "iova", EINVAL);  // twice
    CHECK(a.release(0x180000, 0x2000).has_value());
    CHECK(a.release(0x100000, 0x1000).has_value());
    CHECK(free_of(a) == std::vector<iova_range>{{0x100000, 0x1fffff}});
}

TEST_CASE("iova_allocator: reserve overlapping an allocation is EEXIST", "[iova]") {
    iova_allocator a = make({{0, 0xffffff}});
    REQUIRE(a.allocate(0x10000) == 0);
    CHECK_REFUSED(a.reserve(0x8000, 0x1000), "iova_allocator::reserve", "iova", EEXIST);   // inside it
    CHECK_REFUSED(a.reserve(0xf000, 0x2000), "iova_allocator::reserve", "iova", EEXIST);   // across its end
    CHECK_REFUSED(a.reserve(0, 0x1000000), "iova_allocator::reserve", "iova", EEXIST);     // around it
    CHECK(a.reserve(0x10000, 0x1000).has_value());                                          // right after it
    CHECK_REFUSED(a.reserve(0x10000, 0x1000), "iova_allocator::reserve", "iova", EEXIST);  // twice
    CHECK_REFUSED(a.reserve(0x20800, 0x1000), "iova_allocator::reserve", "iova", EINVAL);  // not aligned
    CHECK_REFUSED(a.reserve(0x30000, 0), "iova_allocator::reserve", "size", EINVAL);
    CHECK(free_of(a) == std::vector<iova_range>{{0x11000, 0xffffff}});
    CHECK(a.allocate(0x1000) == 0x11000);  // first fit skips the reservation
    CHECK(a.release(0x10000, 0x1000).has_value());
    CHECK(a.allocate(0x1000) == 0x10000);
}

TEST_CASE("iova_allocator: reserve outside the usable ranges is ERANGE", "[iova]") {
    const std::vector<iova_range> two{{0x100000, 0x1fffff}, {0x300000, 0x3fffff}};
    iova_allocator a = make(two);
    CHECK_REFUSED(a.reserve(0, 0x1000), "iova_allocator::reserve", "iova", ERANGE);
    CHECK_REFUSED(a.reserve(0xff000, 0x2000), "iova_allocator::reserve", "iova", ERANGE);   // starts before
    CHECK_REFUSED(a.reserve(0x1ff000, 0x2000), "iova_allocator::reserve", "iova", ERANGE);  // into the hole
    CHECK_REFUSED(a.reserve(0x1ff000, 0x102000), "iova_allocator::reserve", "iova", ERANGE);  // across it
    CHECK_REFUSED(a.reserve(0x400000, 0x1000), "iova_allocator::reserve", "iova", ERANGE);
    CHECK_REFUSED(a.reserve(0xfffffffffffff000, 0x2000), "iova_allocator::reserve", "iova", ERANGE);  // wraps
    CHECK(free_of(a) == two);
    CHECK(a.reserve(0x3ff000, 0x1000).has_value());
    CHECK(a.reserve(0x100000, 0x100000).has_value());  // a whole range
    CHECK(free_of(a) == std::vector<iova_range>{{0x300000, 0x3fefff}});
    // Overlapping an allocation and reaching outside at once: the overlap is reported.
    CHECK_REFUSED(a.reserve(0xff000, 0x2000), "iova_allocator::reserve", "iova", EEXIST);
}

TEST_CASE("iova_allocator: a range ending at UINT64_MAX, no wrap-around", "[iova]") {
    SECTION("the top 64 KiB") {
        const iova_range top{max64 - 0xffff, max64};
        iova_allocator a = make({top});
        CHECK(a.free_bytes() == 0x10000);
        CHECK_REFUSED(a.allocate(0x10001), "iova_allocator::allocate", "size", ENOSPC);
        CHECK_REFUSED(a.allocate(max64), "iova_allocator::allocate", "size", ENOSPC);       // rounding overflows
        CHECK_REFUSED(a.allocate(max64 - 0xfff), "iova_allocator::allocate", "size", ENOSPC);  // rounds to 2^64-4K
        CHECK(a.allocate(0x8000) == max64 - 0xffff);
        CHECK(a.allocate(0x8000) == max64 - 0x7fff);
        CHECK(a.free_bytes() == 0);
        CHECK(a.release(max64 - 0x7fff, 0x8000).has_value());
        CHECK(free_of(a) == std::vector<iova_range>{{max64 - 0x7fff, max64}});
        CHECK(a.release(max64 - 0xffff, 0x8000).has_value());
        CHECK(free_of(a) == std::vector<iova_range>{top});
        CHECK(a.reserve(max64 - 0xfff, 0x1000).has_value());  // the last page
        CHECK_REFUSED(a.reserve(max64 - 0xfff, 0x1000), "iova_allocator::reserve", "iova", EEXIST);
        CHECK_REFUSED(a.reserve(max64 - 0x1fff, 0x3000), "iova_allocator::reserve", "iova", ERANGE);  // wraps
        CHECK_REFUSED(a.reserve(max64 - 0x1fff, max64), "iova_allocator::reserve", "iova", ERANGE);
        CHECK(a.release(max64 - 0xfff, 0x1000).has_value());
        CHECK(free_of(a) == std::vector<iova_range>{top});
    }
    SECTION("all 2^64 IOVAs") {
        iova_allocator a = make({{0, max64}});
        CHECK(a.free_bytes() == max64);  // saturated: 2^64 does not fit
        CHECK_REFUSED(a.allocate(max64), "iova_allocator::allocate", "size", ENOSPC);  // rounds past 2^64
        CHECK(a.allocate(u64{1} << 63) == 0);
        CHECK(a.free_bytes() == u64{1} << 63);
        CHECK(a.allocate(u64{1} << 63) == u64{1} << 63);
        CHECK(a.free_bytes() == 0);
        CHECK_REFUSED(a.allocate(1), "iova_allocator::allocate", "size", ENOSPC);
        CHECK(a.release(0, u64{1} << 63).has_value());
        CHECK(a.release(u64{1} << 63, u64{1} << 63).has_value());
        CHECK(free_of(a) == std::vector<iova_range>{{0, max64}});
        CHECK(a.free_bytes() == max64);
    }
    SECTION("byte alignment: a UINT64_MAX-byte allocation leaves the last byte") {
        iova_allocator a = make({{0, max64}}, 1);
        CHECK(a.allocate(max64) == 0);
        CHECK(free_of(a) == std::vector<iova_range>{{max64, max64}});
        CHECK(a.free_bytes() == 1);
        CHECK(a.allocate(1) == max64);
        CHECK(a.free_bytes() == 0);
        CHECK(a.release(max64, 1).has_value());
        CHECK(a.release(0, max64).has_value());
        CHECK(free_of(a) == std::vector<iova_range>{{0, max64}});
    }
}

TEST_CASE("iova_allocator: alignment not a power of two, and malformed ranges, are refused", "[iova]") {
    const std::vector<iova_range> r{{0x1000, 0xffff}};
    for (u64 bad : {u64{3}, u64{0x1800}, u64{0x3000}, (u64{1} << 63) + 1, max64})
        CHECK_REFUSED(iova_allocator::create(r, bad), "iova_allocator::create", "alignment", EINVAL);
    const std::vector<iova_range> backwards{{0x1000, 0xffff}, {0x20000, 0x1ffff}};
    CHECK_REFUSED(iova_allocator::create(backwards, 4096), "iova_allocator::create", "ranges", EINVAL);

    SECTION("alignment 0 means 1") {
        iova_allocator a = make({{1, 10}}, 0);
        CHECK(a.alignment() == 1);
        CHECK(a.allocate(3) == 1);
        CHECK(a.allocate(1) == 4);
        CHECK(a.allocate(2, 2) == 6);
        CHECK(free_of(a) == std::vector<iova_range>{{5, 5}, {8, 10}});
        CHECK(a.free_bytes() == 4);
    }
    SECTION("the largest power of two is accepted") {
        iova_allocator a = make({{0, max64}}, u64{1} << 63);
        CHECK(a.allocate(1) == 0);
        CHECK(a.allocate(1) == u64{1} << 63);
        CHECK_REFUSED(a.allocate(1), "iova_allocator::allocate", "size", ENOSPC);
    }
    SECTION("no ranges at all") {
        auto a = iova_allocator::create({}, 4096);
        REQUIRE(a.has_value());
        CHECK(a->free_bytes() == 0);
        CHECK_REFUSED(a->allocate(1), "iova_allocator::allocate", "size", ENOSPC);
        CHECK_REFUSED(a->reserve(0, 1), "iova_allocator::reserve", "iova", ERANGE);
    }
}

TEST_CASE("iova_allocator: overlapping, touching, duplicate and unsorted ranges are merged", "[iova]") {
    SECTION("byte ranges") {
        iova_allocator a = make({{0x5000, 0x5fff},
                                 {0x1000, 0x1fff},
                                 {0x7000, 0x7fff},
                                 {0x2000, 0x2fff},   // touches the one before it
                                 {0x1800, 0x27ff},   // overlaps both
                                 {0x1000, 0x1fff},   // duplicate
                                 {0x6000, 0x6000},   // one byte touching 0x5fff
                                 {0x0, 0x0},         // one byte, not touching 0x1000
                                 {0x7100, 0x71ff}},  // inside another
                                1);
        CHECK(free_of(a) ==
              std::vector<iova_range>{{0x0, 0x0}, {0x1000, 0x2fff}, {0x5000, 0x6000}, {0x7000, 0x7fff}});
        CHECK(a.free_bytes() == 1 + 0x2000 + 0x1001 + 0x1000);
        CHECK(a.allocate(0x2000) == 0x1000);  // across the seam of two input ranges
        CHECK(a.allocate(0x1001) == 0x5000);  // fits only with the one byte at 0x6000 merged in
        CHECK_REFUSED(a.allocate(0x1001), "iova_allocator::allocate", "size", ENOSPC);
        CHECK(a.allocate(0x1000) == 0x7000);
        CHECK(free_of(a) == std::vector<iova_range>{{0x0, 0x0}});
        CHECK(a.free_bytes() == 1);
    }
    SECTION("ranges at UINT64_MAX and one covering everything") {
        iova_allocator top = make({{max64, max64}, {max64 - 0xfff, max64}, {max64 - 0x1fff, max64 - 0x1000}});
        CHECK(free_of(top) == std::vector<iova_range>{{max64 - 0x1fff, max64}});
        iova_allocator all = make({{0x1000, 0x1fff}, {0, max64}, {max64, max64}, {5, 6}});
        CHECK(free_of(all) == std::vector<iova_range>{{0, max64}});
        CHECK(all.free_bytes() == max64);
    }
}

TEST_CASE("iova_allocator: free_bytes accounting after a sequence", "[iova]") {
    iova_allocator a = make({{0x10000, 0x8ffff}});
    CHECK(a.free_bytes() == 0x80000);
    const auto first = a.allocate(0x1800);  // 0x2000 taken
    REQUIRE(first == 0x10000);
    CHECK(a.free_bytes() == 0x7e000);
    REQUIRE(a.reserve(0x40000, 0x1001).has_value());  // 0x2000 taken
    CHECK(a.free_bytes() == 0x7c000);
    const auto aligned = a.allocate(0x10000, 0x10000);
    REQUIRE(aligned == 0x20000);
    CHECK(a.free_bytes() == 0x6c000);
    REQUIRE(a.release(0x10000, 0x1800).has_value());
    CHECK(a.free_bytes() == 0x6e000);
    CHECK_REFUSED(a.allocate(0x100000), "iova_allocator::allocate", "size", ENOSPC);
    CHECK(a.free_bytes() == 0x6e000);  // the refusal took nothing
    REQUIRE(a.reserve(0x42000, 0x1000).has_value());
    CHECK(a.free_bytes() == 0x6d000);
    CHECK_REFUSED(a.reserve(0x42000, 0x1000), "iova_allocator::reserve", "iova", EEXIST);
    CHECK_REFUSED(a.release(0x40000, 0x3000), "iova_allocator::release", "iova", EINVAL);
    CHECK(a.free_bytes() == 0x6d000);
    REQUIRE(a.release(0x40000, 0x2000).has_value());
    REQUIRE(a.release(0x42000, 0x1000).has_value());
    CHECK(a.free_bytes() == 0x70000);
    REQUIRE(a.release(0x20000, 0x10000).has_value());
    CHECK(a.free_bytes() == 0x80000);
    CHECK(free_of(a) == std::vector<iova_range>{{0x10000, 0x8ffff}});
}

namespace {

// The model: live allocations and reservations (start -> last), with 128-bit arithmetic throughout.
__extension__ using u128 = unsigned __int128;
using live_map = std::map<u64, u64>;

u128 round_up(u128 v, u128 a) { return (v + a - 1) / a * a; }

/// The usable ranges minus the live intervals (which all lie inside them).
std::vector<iova_range> model_free(const std::vector<iova_range>& usable, const live_map& live) {
    std::vector<iova_range> out;
    auto it = live.begin();
    for (const iova_range& r : usable) {
        u128 cur = r.start;
        for (; it != live.end() && it->first <= r.last; ++it) {
            if (it->first > cur) out.push_back({static_cast<u64>(cur), it->first - 1});
            cur = u128{it->second} + 1;
        }
        if (cur <= r.last) out.push_back({static_cast<u64>(cur), r.last});
    }
    return out;
}

/// The lowest IOVA, a multiple of align, with bytes free from there, or nothing.
std::optional<u64> model_first_fit(const std::vector<iova_range>& free, u128 bytes, u128 align) {
    for (const iova_range& g : free) {
        const u128 at = round_up(g.start, align);
        if (at + bytes - 1 <= g.last) return static_cast<u64>(at);
    }
    return std::nullopt;
}

bool model_overlaps_live(const live_map& live, u128 start, u128 last) {
    if (last > max64) last = max64;
    auto it = live.upper_bound(static_cast<u64>(last));
    return it != live.begin() && std::prev(it)->second >= start;
}

bool inside_one(const std::vector<iova_range>& ranges, u128 start, u128 last) {
    for (const iova_range& r : ranges)
        if (r.start <= start && last <= r.last) return true;
    return false;
}

}  // namespace

TEST_CASE("iova_allocator: randomized operations against a model", "[iova]") {
    // Sorted, disjoint, not touching (so they are also what create must merge them into); odd first start, the
    // VT-d MSI window left out, the last ending at UINT64_MAX.
    const std::vector<iova_range> usable{
        {0x1234, 0x3fffff}, {0x500000, 0x8fffff}, {0xfed00000, 0xfedfffff}, {0xfef00000, 0xff7fffff},
        {max64 - 0x3fffff, max64}};
    constexpr u64 page = 0x1000;
    u128 total = 0;
    for (const iova_range& r : usable) total += u128{r.last} - r.start + 1;

    iova_allocator a = make(usable, page);
    REQUIRE(free_of(a) == usable);
    live_map live;
    u128 live_bytes = 0;
    std::mt19937_64 rng{0x5eed'1057'a110'c8ed};
    auto uniform = [&rng](u64 lo, u64 hi) { return std::uniform_int_distribution<u64>{lo, hi}(rng); };
    constexpr u64 aligns[] = {0, 0, 0, 0x800, 0x1000, 0x2000, 0x10000, 0x200000, u64{1} << 40, u64{1} << 63};

    struct {
        int allocated = 0, no_space = 0, bad_align = 0, reserved = 0, exists = 0, out_of_range = 0, misaligned = 0,
            released = 0, bad_release = 0;
    } seen;

    for (int op = 0; op < 4000; ++op) {
        INFO("operation " << op);
        const u64 kind = uniform(0, 99);
        if (kind < 45) {  // allocate
            const u64 pick = uniform(0, 19);
            const u64 size = pick < 16 ? uniform(1, 0x40000) : pick < 18 ? uniform(1, 0x400000)
                                                                         : max64 - uniform(0, 0x10000);
            const u64 align = uniform(0, 49) == 0 ? page * 3 : aligns[uniform(0, std::size(aligns) - 1)];
            auto r = a.allocate(size, align);
            if (align == page * 3) {
                CHECK_REFUSED(r, "iova_allocator::allocate", "align", EINVAL);
                ++seen.bad_align;
                continue;
            }
            const u128 eff = align > page ? align : page;
            const u128 bytes = round_up(size, page);
            const auto expect = model_first_fit(model_free(usable, live), bytes, eff);
            if (!expect) {
                CHECK_REFUSED(r, "iova_allocator::allocate", "size", ENOSPC);
                CHECK(r.error().message == no_space);
                if (pick < 18) ++seen.no_space;
                continue;
            }
            REQUIRE(r.has_value());
            const u128 last = u128{*r} + bytes - 1;
            REQUIRE(*r % eff == 0);
            REQUIRE(inside_one(usable, *r, last));
            REQUIRE_FALSE(model_overlaps_live(live, *r, last));
            REQUIRE(*r == *expect);  // first fit: the lowest such IOVA
            live.emplace(*r, static_cast<u64>(last));
            live_bytes += bytes;
            ++seen.allocated;
        } else if (kind < 55) {  // reserve, near or inside a usable range
            const iova_range& near = usable[uniform(0, usable.size() - 1)];
            const u64 pages = (near.last - near.start) / page;
            const u128 base = (u128{near.start} & ~u128{page - 1}) + u128{uniform(0, pages + 8)} * page;
            const u128 iova = (base < 8 * page ? u128{0} : base - 8 * page) + (uniform(0, 19) == 0 ? 0x800 : 0);
            if (iova > max64) continue;
            const u64 size = uniform(1, 0x20000);
            const u128 last = iova + round_up(size, page) - 1;
            auto r = a.reserve(static_cast<u64>(iova), size);
            if (iova % page != 0) {
                CHECK_REFUSED(r, "iova_allocator::reserve", "iova", EINVAL);
                ++seen.misaligned;
            } else if (last <= max64 && inside_one(model_free(usable, live), iova, last)) {
                REQUIRE(r.has_value());
                live.emplace(static_cast<u64>(iova), static_cast<u64>(last));
                live_bytes += last - iova + 1;
                ++seen.reserved;
            } else if (model_overlaps_live(live, iova, last)) {
                CHECK_REFUSED(r, "iova_allocator::reserve", "iova", EEXIST);
                ++seen.exists;
            } else {
                CHECK_REFUSED(r, "iova_allocator::reserve", "iova", ERANGE);
                ++seen.out_of_range;
            }
        } else {  // release: a live one (with a size that rounds to its size), or something near one
            if (live.empty()) continue;
            auto it = std::next(live.begin(), static_cast<std::ptrdiff_t>(uniform(0, live.size() - 1)));
            const u64 bytes = it->second - it->first + 1;
            u64 iova = it->first;
            u64 size = bytes - uniform(0, page - 1);
            if (kind >= 95) {
                switch (uniform(0, 3)) {
                    case 0: size = bytes + page; break;
                    case 1: iova += page; break;
                    case 2: iova -= page; break;
                    default: size = bytes > page ? bytes - page : 0; break;
                }
            }
            auto exact = live.find(iova);
            const bool valid = size != 0 && exact != live.end() &&
                               u128{exact->second} - exact->first + 1 == round_up(size, page);
            auto r = a.release(iova, size);
            if (valid) {
                REQUIRE(r.has_value());
                live_bytes -= u128{exact->second} - exact->first + 1;
                live.erase(exact);
                ++seen.released;
            } else {
                CHECK_REFUSED(r, "iova_allocator::release", "iova", EINVAL);
                ++seen.bad_release;
            }
        }
        // After every operation: the free list is exactly the usable ranges minus the live intervals, and the
        // bytes add up.
        REQUIRE(free_of(a) == model_free(usable, live));
        REQUIRE(u128{a.free_bytes()} + live_bytes == total);
    }
    // The run went through every path, exhaustion included.
    CHECK(seen.allocated > 500);
    CHECK(seen.no_space > 50);
    CHECK(seen.bad_align > 10);
    CHECK(seen.reserved > 20);
    CHECK(seen.exists > 20);
    CHECK(seen.out_of_range > 5);
    CHECK(seen.misaligned > 5);
    CHECK(seen.released > 500);
    CHECK(seen.bad_release > 20);
    // Releasing everything gives back exactly the usable ranges.
    for (const auto& [start, last] : live) REQUIRE(a.release(start, last - start + 1).has_value());
    CHECK(free_of(a) == usable);
    CHECK(u128{a.free_bytes()} == total);
}
