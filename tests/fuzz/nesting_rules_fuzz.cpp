// libFuzzer target: the kernel-rules model of the 2020 proposal (wire/nesting_rules.hpp) and the builders of
// wire/nesting.hpp over arbitrary images.
// Input: byte 0 picks the ABI (bit 0), the ioctl (bit 1) and the kernel state (bits 2-5; bits 6-7 take BIND_PGTBL /
// CACHE_INVLD out of the nesting features); the rest is the image. Seeds: tests/fuzz/corpus/nesting_rules_fuzz.
// Invariants (abort on violation):
//   - the model never reads past the image and answers 0 or one of the kernel's errnos, with a field on refusal;
//   - a payload decoded from the image and given to the builder either is refused (EINVAL, naming a data. field)
//     or yields an image the model accepts (in the default kernel state: a v7 nesting container on VT-d);
//   - a PASID range taken from the image, built, passes the model; the PASID table never exceeds its quota.
#include <vfiopp/wire/nesting.hpp>
#include <vfiopp/wire/nesting_rules.hpp>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>

using namespace vfiopp;
namespace rules = vfiopp::wire::rules;

namespace {

bool kernel_errno(int code) {
    return code == 0 || code == EINVAL || code == EFAULT || code == EOPNOTSUPP || code == ENODEV || code == ENOSPC;
}

template <typename Abi>
void fuzz_nesting(std::span<const std::byte> img, const rules::kernel_state& k) {
    using T = uapi::abi_traits<Abi>;
    auto v = rules::check_nesting_op<Abi>(img, k);
    if (!kernel_errno(v.code) || (!v.accepted() && v.rule.empty())) std::abort();
    // rebuild from the payload bytes (zero-padded like the kernel's stack copy)
    if (img.size() < sizeof(typename T::nesting_op_type)) return;
    typename T::nesting_op_type h{};
    std::memcpy(&h, img.data(), sizeof h);
    auto payload = img.subspan(T::data_offset);
    wire::nesting_payload p;
    const auto op = static_cast<std::uint32_t>(T::op_of(h)) % 3;
    if (op == 2) {
        uapi::iommu_cache_invalidate_info i{};
        std::memcpy(&i, payload.data(), std::min(payload.size(), sizeof i));
        p = wire::cache_invalidate{i};
    } else {
        uapi::iommu_gpasid_bind_data d{};
        std::memcpy(&d, payload.data(), std::min(payload.size(), sizeof d));
        if (op == 0) p = wire::bind_pgtbl{d};
        else p = wire::unbind_pgtbl{d};
    }
    auto built = wire::nesting_op<Abi>(p);
    if (!built) {
        if (built.error().code != EINVAL || !built.error().field.starts_with("data.")) std::abort();
        return;
    }
    if (!rules::check_nesting_op<Abi>(built->bytes()).accepted()) std::abort();
}

template <typename Abi>
void fuzz_pasid(std::span<const std::byte> img, const rules::kernel_state& k) {
    auto v = rules::check_pasid_request<Abi>(img, k);
    if (!kernel_errno(v.code) || (!v.accepted() && v.rule.empty())) std::abort();
    if (img.size() < 16) return;
    std::uint32_t lo = 0, hi = 0;
    std::memcpy(&lo, img.data() + img.size() - 8, 4);
    std::memcpy(&hi, img.data() + img.size() - 4, 4);
    auto a = wire::pasid_alloc<Abi>({lo, hi});
    if (!a) return;
    if (!rules::check_pasid_request<Abi>(a->bytes()).accepted()) std::abort();
    // the effect on a small table: never over its quota, an allocated PASID lies in the range
    rules::pasid_table t{4};
    for (int i = 0; i < 6; ++i) {
        auto copy = a->bytes();
        std::byte buf[32];
        std::memcpy(buf, copy.data(), copy.size());
        long rc = rules::pasid_request_effect<Abi>(std::span(buf, copy.size()), t);
        if (rc < 0 && rc != -ENOSPC) std::abort();
        if (t.size() > t.quota()) std::abort();
        if constexpr (uapi::abi_traits<Abi>::pasid_is_return_value)
            if (rc > 0 && (static_cast<std::uint64_t>(rc) < lo || static_cast<std::uint64_t>(rc) > hi)) std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const std::uint8_t sel = data[0];
    // the image lives in its own allocation so that ASan sees any read past it
    std::vector<std::byte> buf(reinterpret_cast<const std::byte*>(data + 1), reinterpret_cast<const std::byte*>(data + size));
    std::span<const std::byte> img(buf);
    rules::kernel_state k;
    k.nesting_info = !(sel & 0x04);
    k.vfio_mm = !(sel & 0x08);
    k.driver_ops = !(sel & 0x10);
    k.vtd = !(sel & 0x20);
    using feature = uapi::v7::nesting_feature;
    if (sel & 0x40) k.features &= ~uapi::bitmask<feature>(feature::bind_pgtbl);
    if (sel & 0x80) k.features &= ~uapi::bitmask<feature>(feature::cache_invld);
    const bool v7 = sel & 1, nesting = sel & 2;
    if (nesting) {
        if (v7) fuzz_nesting<uapi::abi::v7>(img, k);
        else fuzz_nesting<uapi::abi::seed>(img, k);
    } else {
        if (v7) fuzz_pasid<uapi::abi::v7>(img, k);
        else fuzz_pasid<uapi::abi::seed>(img, k);
    }
    return 0;
}
