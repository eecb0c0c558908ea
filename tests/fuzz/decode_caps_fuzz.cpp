// libFuzzer target: decode() and the capability chain views over arbitrary bytes.
// Input: byte 0 picks the ioctl (index into every mirrored ioctl, or a raw code when >= their count), byte 1 the
// fd kind / ABI options; the rest is the image. Every image is also parsed as each kind of capability chain and
// printed. Invariants (abort on violation): a decoded image re-encodes to itself; a parsed chain iterates to the
// end and every array element it yields lies inside the reply.
#include <vfiopp/wire/fmt.hpp>

#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

using namespace vfiopp;

namespace {

template <typename Kind>
void fuzz_chain(std::span<const std::byte> img) {
    auto chain = wire::cap_chain_view<Kind>::parse(img);
    if (!chain) {
        if (chain.error().code != EINVAL && chain.error().code != EOVERFLOW) std::abort();
        return;
    }
    std::size_t n = 0;
    for (const auto& cap : *chain) {
        std::visit(
            [&](const auto& c) {
                if (c.offset + c.bytes.size() > chain->bytes().size()) std::abort();
                if constexpr (vfiopp::detail::array_cap<std::remove_cvref_t<decltype(c)>>)
                    for (auto e : c.elements()) (void)e;
            },
            cap);
        if (++n > img.size() / 8) std::abort();  // offsets strictly grow by >= 8: a longer walk is a loop
    }
    (void)fmt::format("{}", *chain);
    (void)fmt::format("{:l}", *chain);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const auto img = std::as_bytes(std::span(data + 2, size - 2));
    std::vector<uapi::u32> codes;
    wire::for_each_decodable([&](const auto& def) { codes.push_back(def.code); });
    const uapi::u32 code = data[0] < codes.size() ? codes[data[0]] : 0x3b00u + data[0];
    wire::decode_options opts;
    if (data[1] & 0x80) opts.fd = static_cast<uapi::fd_kind>(data[1] & 0x3);
    if (data[1] & 0x40) opts.abi = static_cast<uapi::abi_kind>((data[1] >> 2) % 3);
    if (auto d = wire::decode(code, img, opts)) {
        auto again = wire::encode(*d);
        if (again.size() != img.size() || !std::equal(again.begin(), again.end(), img.begin())) std::abort();
        (void)fmt::format("{}", *d);
        (void)fmt::format("{:l}", *d);
    }
    fuzz_chain<wire::iommu_info_caps>(img);
    fuzz_chain<wire::iommu_info_caps_v7>(img);
    fuzz_chain<wire::device_info_caps>(img);
    fuzz_chain<wire::region_info_caps>(img);
    return 0;
}
