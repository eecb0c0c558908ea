// registry_test.cpp - the ioctl registry: lookups by code + fd (+ ABI) and by name, ambiguity, visit_ioctl and
// per-header counts. Most checks run over every entry, so they keep holding as the uapi headers grow.
#include <vfiopp/uapi/registry.hpp>

#include <catch2/catch_test_macros.hpp>

#include <algorithm>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>

using namespace vfiopp::uapi;

namespace {

// Every struct name of every mirror header, from the headers' own lists.
#define VFIOPP_TEST_STRUCT_NAME(T, size, align, since) std::string_view{#T},
const std::set<std::string_view> mirrored_structs{
    VFIOPP_STRUCTS_vfio(VFIOPP_TEST_STRUCT_NAME) VFIOPP_STRUCTS_iommufd(VFIOPP_TEST_STRUCT_NAME)
        VFIOPP_STRUCTS_iommu(VFIOPP_TEST_STRUCT_NAME) VFIOPP_STRUCTS_seed(VFIOPP_TEST_STRUCT_NAME)
            VFIOPP_STRUCTS_v7(VFIOPP_TEST_STRUCT_NAME)};
#undef VFIOPP_TEST_STRUCT_NAME

std::size_t count_matching(auto pred) {
    return static_cast<std::size_t>(std::count_if(ioctl_registry.begin(), ioctl_registry.end(), pred));
}

}  // namespace

TEST_CASE("registry: known entries are found by code and fd, with their typed definition", "[registry]") {
    const ioctl_info* i = find_ioctl(0x3b6c, fd_kind::device, abi_kind::mainline);
    REQUIRE(i != nullptr);
    CHECK(i->name == "VFIO_DEVICE_GET_REGION_INFO");
    CHECK(i->cxx_name == "device_get_region_info");
    CHECK(i->header == uapi_header::vfio);
    CHECK(i->arg == arg_kind::inout);
    CHECK(i->arg_type_name == "vfio_region_info");
    CHECK(i->arg_size == sizeof(vfio_region_info));
    CHECK(i->since == "k6_1");
    CHECK(find_ioctl(0x3b6c, fd_kind::device).unique() == i);

    const ioctl_info* g = find_ioctl(0x3b70, fd_kind::container, abi_kind::mainline);
    REQUIRE(g != nullptr);
    CHECK(g->name == "VFIO_IOMMU_GET_INFO");
    CHECK(g->arg_type_name == "vfio_iommu_type1_info");

    const ioctl_info* v = find_ioctl(0x3b64, fd_kind::container, abi_kind::mainline);
    REQUIRE(v != nullptr);
    CHECK(v->name == "VFIO_GET_API_VERSION");
    CHECK(v->arg == arg_kind::none);
    CHECK(v->arg_type_name.empty());
    CHECK(v->arg_size == 0);

    // the right code on the wrong fd is not the ioctl
    CHECK(find_ioctl(0x3b6c, fd_kind::container, abi_kind::mainline) == nullptr);
    CHECK(find_ioctl(0x3b6c, fd_kind::iommufd).empty());
    CHECK(find_ioctl(0x1234, fd_kind::device).empty());
    CHECK(find_ioctls(0x1234).empty());

    STATIC_CHECK(find_ioctl(0x3b6c, fd_kind::device, abi_kind::mainline)->name == "VFIO_DEVICE_GET_REGION_INFO");
}

TEST_CASE("registry: every entry is found by (code, fd, abi), by code + fd, by code and by name", "[registry]") {
    REQUIRE(!ioctl_registry.empty());
    for (const ioctl_info& i : ioctl_registry) {
        CAPTURE(i.name, i.code, to_string(i.fd), to_string(i.abi));
        CHECK(find_ioctl(i.code, i.fd, i.abi) == &i);
        CHECK(find_ioctl(i.name, i.abi) == &i);
        auto by_fd = find_ioctl(i.code, i.fd);
        CHECK(std::find(by_fd.begin(), by_fd.end(), &i) != by_fd.end());
        for (const ioctl_info* m : by_fd) CHECK((m->code == i.code && m->fd == i.fd));
        auto by_abi = find_ioctl(i.code, i.abi);
        CHECK(std::find(by_abi.begin(), by_abi.end(), &i) != by_abi.end());
        auto by_code = find_ioctls(i.code);
        CHECK(std::find(by_code.begin(), by_code.end(), &i) != by_code.end());
        CHECK(by_code.size() == count_matching([&](const ioctl_info& o) { return o.code == i.code; }));
        auto by_name = find_ioctl(i.name);
        CHECK(std::find(by_name.begin(), by_name.end(), &i) != by_name.end());
        CHECK(by_name.size() == count_matching([&](const ioctl_info& o) { return o.name == i.name; }));
    }
}

TEST_CASE("registry: is sorted by (code, fd, abi) and its (code, fd, abi) keys are unique", "[registry]") {
    for (std::size_t k = 1; k < ioctl_registry.size(); ++k) {
        const auto& a = ioctl_registry[k - 1];
        const auto& b = ioctl_registry[k];
        CAPTURE(a.name, b.name);
        CHECK(std::tuple{a.code, a.fd, a.abi} < std::tuple{b.code, b.fd, b.abi});
    }
    // the compile-time check is the one that guards the build; this is the same property, checked at run time
    STATIC_CHECK(vfiopp::detail::registry_is_unique(ioctl_registry));

    // and the check does find a duplicate key, and a name mirrored twice in one ABI
    constexpr std::array<ioctl_info, 3> dup_code{{
        {.name = "A", .code = 1, .fd = fd_kind::device, .abi = abi_kind::mainline},
        {.name = "B", .code = 2, .fd = fd_kind::device, .abi = abi_kind::mainline},
        {.name = "C", .code = 2, .fd = fd_kind::device, .abi = abi_kind::mainline},
    }};
    STATIC_CHECK(vfiopp::detail::first_duplicate_code(dup_code) == 2);
    STATIC_CHECK(vfiopp::detail::first_duplicate_name(dup_code) == 3);
    constexpr std::array<ioctl_info, 3> dup_name{{
        {.name = "A", .code = 1, .fd = fd_kind::device, .abi = abi_kind::seed},
        {.name = "A", .code = 2, .fd = fd_kind::device, .abi = abi_kind::v7},
        {.name = "A", .code = 3, .fd = fd_kind::device, .abi = abi_kind::v7},
    }};
    STATIC_CHECK(vfiopp::detail::first_duplicate_code(dup_name) == 3);
    STATIC_CHECK(vfiopp::detail::first_duplicate_name(dup_name) == 2);
}

TEST_CASE("registry: lookups report ambiguity instead of picking one", "[registry]") {
    // A table with the collisions the real uAPI has: one code on two fds, and one code in two ABIs on one fd.
    constexpr std::array<ioctl_info, 4> table{{
        {.name = "A_CONTAINER", .code = 0x3b70, .fd = fd_kind::container, .abi = abi_kind::mainline},
        {.name = "A_DEVICE", .code = 0x3b70, .fd = fd_kind::device, .abi = abi_kind::mainline},
        {.name = "B_MAINLINE", .code = 0x3b76, .fd = fd_kind::device, .abi = abi_kind::mainline},
        {.name = "B_V7", .code = 0x3b76, .fd = fd_kind::device, .abi = abi_kind::v7},
    }};
    auto both = find_ioctls(0x3b70, table);
    CHECK(both.size() == 2);
    CHECK(both.ambiguous());
    CHECK(both.unique() == nullptr);
    CHECK(find_ioctl(0x3b70, fd_kind::device, table).unique() == &table[1]);
    CHECK_FALSE(find_ioctl(0x3b70, fd_kind::device, table).ambiguous());

    auto abis = find_ioctl(0x3b76, fd_kind::device, table);
    CHECK(abis.ambiguous());
    CHECK(abis.size() == 2);
    CHECK(abis[0].name == "B_MAINLINE");
    CHECK(abis[1].name == "B_V7");
    CHECK(find_ioctl(0x3b76, abi_kind::v7, table).unique() == &table[3]);
    CHECK(find_ioctl(0x3b76, fd_kind::device, abi_kind::v7, table) == &table[3]);
    CHECK(find_ioctl(0x3b76, fd_kind::device, abi_kind::seed, table) == nullptr);
    CHECK(find_ioctl(0x3b76, fd_kind::container, table).empty());

    // and in the real registry: a code shared by several entries is reported as ambiguous, never resolved
    for (const ioctl_info& i : ioctl_registry) {
        auto m = find_ioctls(i.code);
        CHECK(m.ambiguous() == (m.size() > 1));
        CHECK((m.unique() == nullptr) == m.ambiguous());
    }
}

TEST_CASE("registry: the uAPI's own code collisions are told apart by fd and ABI", "[registry]") {
    // 0x3b76 = _IO(';', 100 + 18): mainline VFIO_DEVICE_BIND_IOMMUFD on a device, the proposal's v7
    // VFIO_IOMMU_PASID_REQUEST on a container
    auto all = find_ioctls(0x3b76);
    CHECK(all.ambiguous());
    CHECK(all.size() == 2);
    const ioctl_info* bind = find_ioctl(0x3b76, fd_kind::device).unique();
    REQUIRE(bind != nullptr);
    CHECK(bind->name == "VFIO_DEVICE_BIND_IOMMUFD");
    CHECK(bind->abi == abi_kind::mainline);
    const ioctl_info* pasid = find_ioctl(0x3b76, fd_kind::container).unique();
    REQUIRE(pasid != nullptr);
    CHECK(pasid->name == "VFIO_IOMMU_PASID_REQUEST");
    CHECK(pasid->abi == abi_kind::v7);
    CHECK(find_ioctl(0x3b76, abi_kind::mainline).unique() == bind);
    CHECK(find_ioctl(0x3b76, abi_kind::v7).unique() == pasid);
    CHECK(find_ioctl(0x3b76, fd_kind::container, abi_kind::mainline) == nullptr);

    // 0x3b70 = _IO(';', 100 + 12): one number, two mainline ioctls on two fds
    CHECK(find_ioctl(0x3b70, fd_kind::container, abi_kind::mainline)->name == "VFIO_IOMMU_GET_INFO");
    CHECK(find_ioctl(0x3b70, fd_kind::device, abi_kind::mainline)->name == "VFIO_DEVICE_GET_PCI_HOT_RESET_INFO");
    CHECK(find_ioctl(0x3b70, abi_kind::mainline).ambiguous());

    // the proposal's revisions share names, not codes or layouts: seed +22 with a 20-byte request, v7 +18 with 16
    auto by_name = find_ioctl("VFIO_IOMMU_PASID_REQUEST");
    CHECK(by_name.ambiguous());
    CHECK(by_name.size() == 2);
    const ioctl_info* seed_req = find_ioctl("VFIO_IOMMU_PASID_REQUEST", abi_kind::seed);
    const ioctl_info* v7_req = find_ioctl("VFIO_IOMMU_PASID_REQUEST", abi_kind::v7);
    REQUIRE(seed_req != nullptr);
    REQUIRE(v7_req != nullptr);
    CHECK(seed_req->code == 0x3b7a);
    CHECK(seed_req->arg_size == 20);
    CHECK(v7_req == pasid);
    CHECK(v7_req->arg_size == 16);
    CHECK(find_ioctl("VFIO_IOMMU_PASID_REQUEST", abi_kind::mainline) == nullptr);
    CHECK(find_ioctl("VFIO_IOMMU_NESTING_OP", abi_kind::seed)->code == 0x3b7b);
    CHECK(find_ioctl("VFIO_IOMMU_NESTING_OP", abi_kind::v7)->code == 0x3b77);
    CHECK(find_ioctl("VFIO_IOMMU_NESTING_OP", abi_kind::v7)->arg_has_flex);

    // the left-out SPAPR ioctls reuse type1 container codes: a decoder could not tell them apart anyway
    for (const auto& l : left_out_ioctls)
        if (l.name == "VFIO_IOMMU_SPAPR_TCE_GET_INFO")
            CHECK(find_ioctl(l.code, l.fd, abi_kind::mainline)->name == "VFIO_IOMMU_GET_INFO");
}

TEST_CASE("registry: visit_ioctl hands over the typed ioctl_def", "[registry]") {
    bool called = false;
    bool found = visit_ioctl(0x3b6c, fd_kind::device, abi_kind::mainline, [&](const auto& d) {
        using A = typename std::decay_t<decltype(d)>::arg_type;
        called = true;
        CHECK(std::is_same_v<A, vfio_region_info>);
        CHECK(d.code == vfio::device_get_region_info.code);
        CHECK(d.name == vfio::device_get_region_info.name);
    });
    CHECK(found);
    CHECK(called);

    called = false;
    CHECK_FALSE(visit_ioctl(0x3b6c, fd_kind::iommufd, abi_kind::mainline, [&](const auto&) { called = true; }));
    CHECK_FALSE(called);

    // every entry visits exactly one def, the one whose name, code, fd, abi and argument size it records
    for (const ioctl_info& i : ioctl_registry) {
        CAPTURE(i.name);
        int calls = 0;
        CHECK(visit_ioctl(i, [&](const auto& d) {
            using A = typename std::decay_t<decltype(d)>::arg_type;
            ++calls;
            CHECK(d.name == i.name);
            CHECK(d.code == i.code);
            CHECK(d.fd == i.fd);
            CHECK(d.abi == i.abi);
            CHECK(i.arg_size == (std::is_same_v<A, no_arg> ? 0 : sizeof(A)));
        }));
        CHECK(calls == 1);
    }

    std::size_t n = 0;
    for_each_ioctl([&](const auto&) { ++n; });
    CHECK(n == ioctl_registry.size());
}

TEST_CASE("registry: counts per header add up and each header keeps to its ABI and fds", "[registry]") {
    CHECK(ioctl_count(uapi_header::vfio) == std::tuple_size_v<decltype(vfio::all_ioctls)>);
    CHECK(ioctl_count(uapi_header::iommufd) == std::tuple_size_v<decltype(iommufd::all_ioctls)>);
    CHECK(ioctl_count(uapi_header::seed) == std::tuple_size_v<decltype(seed::all_ioctls)>);
    CHECK(ioctl_count(uapi_header::v7) == std::tuple_size_v<decltype(v7::all_ioctls)>);
    std::size_t sum = 0;
    for (auto h : all_uapi_headers) sum += ioctl_count(h);
    CHECK(sum == ioctl_registry.size());
    // linux/vfio.h 7.3 defines 34 ioctls, 6 of them POWER-only (left_out_ioctls); linux/iommufd.h 7.3 defines 22;
    // each revision of the 2020 proposal adds PASID_REQUEST and NESTING_OP
    CHECK(ioctl_count(uapi_header::vfio) == 34 - left_out_ioctls.size());
    CHECK(ioctl_count(uapi_header::iommufd) == 22);
    CHECK(ioctl_count(uapi_header::seed) == 2);
    CHECK(ioctl_count(uapi_header::v7) == 2);

    for (const ioctl_info& i : ioctl_registry) {
        CAPTURE(i.name, to_string(i.header));
        switch (i.header) {
            case uapi_header::vfio:
                CHECK(i.abi == abi_kind::mainline);
                CHECK(i.fd != fd_kind::iommufd);
                CHECK(i.name.starts_with("VFIO_"));
                break;
            case uapi_header::iommufd:
                CHECK(i.abi == abi_kind::mainline);
                CHECK(i.fd == fd_kind::iommufd);
                CHECK(i.name.starts_with("IOMMU_"));
                break;
            case uapi_header::seed:
                CHECK(i.abi == abi_kind::seed);
                CHECK(i.since == "never");
                break;
            case uapi_header::v7:
                CHECK(i.abi == abi_kind::v7);
                CHECK(i.since == "never");
                break;
        }
        // a pointer argument has a mirror type; none/value have none
        bool pointer = i.arg == arg_kind::in || i.arg == arg_kind::out || i.arg == arg_kind::inout;
        CHECK(pointer == (i.arg_size != 0));
        CHECK(pointer == !i.arg_type_name.empty());
        CHECK(i.since.size() > 0);
        CHECK(i.cxx_name.size() > 0);
    }
}

TEST_CASE("registry: what is left out is neither mirrored nor duplicated", "[registry]") {
    std::set<std::string_view> seen;
    for (const auto& l : left_out_ioctls) {
        CAPTURE(l.name);
        CHECK(seen.insert(l.name).second);
        CHECK(find_ioctl(l.name).empty());
        CHECK((l.platform == "POWER" || l.platform == "s390"));
        // VFIO's own numbering: _IO(';', 100 + n)
        CHECK((l.code & 0xff00) == 0x3b00);
    }
    for (const auto& s : left_out_structs) {
        CAPTURE(s.name);
        CHECK(seen.insert(s.name).second);
        CHECK(mirrored_structs.count(s.name) == 0);
    }
    CHECK(!mirrored_structs.empty());
}
