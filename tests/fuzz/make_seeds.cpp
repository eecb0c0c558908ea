// Writes the fuzzer's seed corpus into the directory given as argv[1]: the testbed's real VFIO_IOMMU_GET_INFO
// reply (TESTBED.md), a v7 NESTING reply, region and device info replies with capabilities, and one zeroed
// image per mirrored ioctl. File format: byte 0 ioctl selector, byte 1 options, then the image (see the target).
#include <vfiopp/wire/decode.hpp>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

using namespace vfiopp;

namespace {

struct image {
    std::vector<unsigned char> b;
    explicit image(std::size_t n) : b(n) {}
    template <typename T>
    void put(std::size_t off, T v) { std::memcpy(b.data() + off, &v, sizeof v); }
    void cap(std::size_t off, uapi::u16 id, uapi::u32 next) { put(off, id), put<uapi::u16>(off + 2, 1), put(off + 4, next); }
};

void write(const std::string& dir, const std::string& name, unsigned char sel, unsigned char opts, const image& img) {
    std::ofstream f(dir + "/" + name, std::ios::binary);
    f.put(static_cast<char>(sel)).put(static_cast<char>(opts));
    f.write(reinterpret_cast<const char*>(img.b.data()), static_cast<std::streamsize>(img.b.size()));
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) return 2;
    const std::string dir = argv[1];
    std::size_t index = 0, get_info = 0;
    wire::for_each_decodable([&](const auto& def) {
        using Arg = typename std::decay_t<decltype(def)>::arg_type;
        std::size_t n = 0;
        if constexpr (!std::is_same_v<Arg, uapi::no_arg>) n = sizeof(Arg);
        if (def.name == std::string_view("VFIO_IOMMU_GET_INFO")) get_info = index;
        // options: fd and ABI given (bit 7: fd in bits 0-1, bit 6: ABI in bits 2-3)
        const auto opts = static_cast<unsigned char>(0xc0 | static_cast<unsigned>(def.fd) |
                                                     (static_cast<unsigned>(def.abi) << 2));
        write(dir, "ioctl-" + std::to_string(index), static_cast<unsigned char>(index), opts, image(n));
        ++index;
    });
    image t(120);  // the testbed's reply: MIGRATION -> DMA_AVAIL -> IOVA_RANGE
    t.put<uapi::u32>(0, 120), t.put<uapi::u32>(4, 3), t.put<uapi::u64>(8, 0x40201000), t.put<uapi::u32>(16, 24);
    t.cap(24, 2, 56), t.put<uapi::u64>(40, 0x1000), t.put<uapi::u64>(48, 0x10000000);
    t.cap(56, 3, 72), t.put<uapi::u32>(64, 65535);
    t.cap(72, 1, 0), t.put<uapi::u32>(80, 2), t.put<uapi::u64>(96, 0xfedfffff), t.put<uapi::u64>(104, 0xfef00000),
        t.put<uapi::u64>(112, 0xffffffffffff);
    write(dir, "iommu-info-testbed", static_cast<unsigned char>(get_info), 0xc0, t);
    image v7(88);  // v7 NESTING
    v7.put<uapi::u32>(0, 88), v7.put<uapi::u32>(4, 3), v7.put<uapi::u32>(16, 24), v7.cap(24, 3, 0);
    v7.put<uapi::u32>(32, 56), v7.put<uapi::u32>(40, 1), v7.put<uapi::u32>(44, 7), v7.put<uapi::u64>(72, 0xd2008c222f0606);
    write(dir, "iommu-info-v7-nesting", static_cast<unsigned char>(get_info), 0xc8, v7);
    image r(120);  // region: SPARSE_MMAP -> TYPE -> MSIX_MAPPABLE -> unknown
    r.put<uapi::u32>(0, 120), r.put<uapi::u32>(4, 0xf), r.put<uapi::u32>(12, 32), r.put<uapi::u64>(16, 0x100000);
    r.cap(32, 1, 80), r.put<uapi::u32>(40, 2), r.put<uapi::u64>(56, 0x2000), r.put<uapi::u64>(64, 0x3000);
    r.cap(80, 2, 96), r.put<uapi::u32>(88, 0x80008086), r.cap(96, 3, 104), r.cap(104, 4, 0);
    write(dir, "region-info", 0xff, 0, r);
    image dv(48);  // device: PCI_ATOMIC_COMP -> ZPCI_BASE (unknown)
    dv.put<uapi::u32>(0, 48), dv.put<uapi::u32>(4, 0x82), dv.put<uapi::u32>(16, 24), dv.cap(24, 5, 40),
        dv.put<uapi::u32>(32, 3), dv.cap(40, 1, 0);
    write(dir, "device-info", 0xff, 0, dv);
    return 0;
}
