// The IOMMUFD_TEST mock IOMMU of the 7.3 test kernel (drivers/iommu/iommufd/iommufd_test.h, CONFIG_IOMMUFD_TEST): its
// types (not uapi, so not mirrored by vfiopp), their vfiopp traits, and IOMMU_TEST_CMD issued through io::submit.
// Shared by the VM test files of vfiopp_vm_objects.
#pragma once

#include <vfiopp/iommufd.hpp>
#include <vfiopp/io/sync.hpp>
#include <vfiopp/wire/iommufd.hpp>

#include <array>
#include <cstdint>
#include <cstring>

// ---- the IOMMUFD_TEST mock's types (drivers/iommu/iommufd/iommufd_test.h; not uapi, so not mirrored by vfiopp) ----
namespace mock {
constexpr std::uint32_t hwpt_data_selftest = 0xdead;                 // IOMMU_HWPT_DATA_SELFTEST
constexpr std::uint32_t hwpt_invalidate_data_selftest = 0xdeadbeef;  // IOMMU_HWPT_INVALIDATE_DATA_SELFTEST
constexpr std::uint32_t hw_info_type_selftest = 0xfeedbeef;          // IOMMU_HW_INFO_TYPE_SELFTEST
constexpr std::uint32_t hw_info_selftest_regval = 0xdeadbeef;
constexpr std::uint32_t iotlb_default = 0xbadbeef;
constexpr std::uint32_t invalidate_flag_all = 1;
constexpr std::uint64_t aperture_start = 1u << 24;                   // MOCK_APERTURE_START
struct hwpt_selftest {
    std::uint32_t iotlb;
    std::uint32_t pagetable_type;
};
struct hwpt_invalidate_selftest {
    std::uint32_t flags;
    std::uint32_t iotlb_id;  // 0 .. 3 (MOCK_NESTED_DOMAIN_IOTLB_ID_MAX)
};
struct test_hw_info {
    std::uint32_t flags;
    std::uint32_t test_reg;
};
}  // namespace mock

// The open customization: the mock driver's types become HWPT_ALLOC / HWPT_INVALIDATE / GET_HW_INFO data.
template <>
struct vfiopp::wire::hwpt_data_traits<mock::hwpt_selftest> {
    static constexpr auto data_type = static_cast<vfiopp::uapi::hwpt_data_type>(mock::hwpt_data_selftest);
};
template <>
struct vfiopp::wire::hwpt_data_traits<mock::hwpt_invalidate_selftest> {
    static constexpr auto invalidate_type =
        static_cast<vfiopp::uapi::hwpt_invalidate_data_type>(mock::hwpt_invalidate_data_selftest);
};
template <>
struct vfiopp::wire::hw_info_traits<mock::test_hw_info> {
    static constexpr auto type = static_cast<vfiopp::uapi::hw_info_type>(mock::hw_info_type_selftest);
};

namespace vmtest {
using namespace vfiopp;
// IOMMU_TEST_CMD (72 bytes: size, op, id, __reserved, a 48-byte union, last), issued through io::submit as a
// request_like type of the test's own.
struct alignas(8) test_cmd {
    std::uint32_t size = sizeof(test_cmd);
    std::uint32_t op = 0;
    std::uint32_t id = 0;
    std::uint32_t reserved = 0;
    std::array<std::uint8_t, 48> u{};
    std::uint32_t last = 0;
    template <typename T>
    T get(std::size_t off) const {
        T v{};
        std::memcpy(&v, u.data() + off, sizeof v);
        return v;
    }
    template <typename T>
    void put(std::size_t off, T v) {
        std::memcpy(u.data() + off, &v, sizeof v);
    }
};
static_assert(sizeof(test_cmd) == 72);
struct test_cmd_req {
    static constexpr uapi::ioctl_def<test_cmd> ioctl{"IOMMU_TEST_CMD", uapi::io(uapi::iommufd_type, uapi::iommufd_cmd_base + 32),
                                                    uapi::fd_kind::iommufd, uapi::arg_kind::inout,
                                                    uapi::abi_kind::mainline, {uapi::returns::status, 0}};
    static constexpr uapi::return_spec ret = ioctl.ret;
    test_cmd cmd{};
    void* ioctl_arg() { return &cmd; }
};
constexpr std::uint32_t op_mock_domain = 2, op_dirty = 13;  // IOMMU_TEST_OP_MOCK_DOMAIN, IOMMU_TEST_OP_DIRTY

struct mock_device {
    std::uint32_t stdev = 0, hwpt = 0, idev = 0;
};
inline result<mock_device> mock_domain(const iommufd& ctx, std::uint32_t ioas_id) {
    test_cmd_req r;
    r.cmd.op = op_mock_domain;
    r.cmd.id = ioas_id;
    if (auto s = io::submit(ctx.fd(), r); !s) return s.error();
    return mock_device{r.cmd.get<std::uint32_t>(0), r.cmd.get<std::uint32_t>(4), r.cmd.get<std::uint32_t>(8)};
}
}  // namespace vmtest
