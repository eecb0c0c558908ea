// vfio-trace_render - host test of vfio-trace's decoder (examples/vfio-trace/render.hpp) on images only a real
// kernel writes: successful replies, which the host tests' fake cannot get (every ioctl fails there). The images are
// the ones the VM testbed's kernel gives (tests/vm/README.md): VFIO_IOMMU_GET_INFO with its MIGRATION -> DMA_AVAIL ->
// IOVA_RANGE chain, the same reply truncated, IOAS_IOVA_RANGES' ranges read from the "tracee" (this process),
// SET_IRQS eventfds, a MIG_DEVICE_STATE payload, a request shorter than the mirror. Text and JSON are both checked.
// Prints "vfio-trace render: all N checks passed" last; exits 1 on a failure.
#include "vfio-trace/render.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {
namespace vt = vfio_trace;
namespace uapi = vfiopp::uapi;

int passed = 0, failed = 0;

void check(bool ok, const std::string& what, const std::string& got) {
    if (ok) {
        ++passed;
        std::printf("PASS: %s\n", what.c_str());
    } else {
        ++failed;
        std::printf("FAIL: %s\n  got: %s\n", what.c_str(), got.c_str());
    }
}
bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

template <typename T>
void put(std::vector<std::byte>& image, std::size_t at, const T& v) {
    if (image.size() < at + sizeof v) image.resize(at + sizeof v);
    std::memcpy(image.data() + at, &v, sizeof v);
}

vt::render_ctx self_ctx() {
    return {::getpid(), [](int) { return vt::fd_kind::other; }};
}

void iommu_get_info() {
    // the reply of the testbed's type1 backend (argsz 120, pgsizes 0x40201000, caps at 24, 56, 72)
    std::vector<std::byte> reply;
    uapi::vfio_iommu_type1_info info{};
    info.argsz = 120;
    info.flags = uapi::iommu_info_flag::pgsizes | uapi::iommu_info_flag::caps;
    info.iova_pgsizes = 0x40201000;
    info.cap_offset = 24;
    put(reply, 0, info);
    uapi::vfio_iommu_type1_info_cap_migration mig{};
    mig.header = {2, 1, 56};
    mig.pgsize_bitmap = 0x1000;
    mig.max_dirty_bitmap_size = 0x10000000;
    put(reply, 24, mig);
    uapi::vfio_iommu_type1_info_dma_avail avail{};
    avail.header = {3, 1, 72};
    avail.avail = 65535;
    put(reply, 56, avail);
    uapi::vfio_iommu_type1_info_cap_iova_range ranges{};
    ranges.header = {1, 1, 0};
    ranges.nr_iovas = 2;
    put(reply, 72, ranges);
    put(reply, 88, uapi::vfio_iova_range{0, 0xfedfffff});
    put(reply, 104, uapi::vfio_iova_range{0xfef00000, 0xffffffffffff});
    reply.resize(120);

    std::vector<std::byte> request(120);
    uapi::vfio_iommu_type1_info req{};
    req.argsz = 120;
    put(request, 0, req);
    auto in = vt::render_image(uapi::vfio::iommu_get_info, request, {}, vt::phase::request, self_ctx());
    check(in.text == "vfio_iommu_type1_info{argsz=120, flags=0, iova_pgsizes=0x0, cap_offset=0, pad=0} room=96 bytes",
          "GET_INFO request: the bytes past the struct are room, not data", in.text);

    auto r = vt::render_image(uapi::vfio::iommu_get_info, reply, request, vt::phase::reply, self_ctx());
    check(contains(r.text, "flags=pgsizes|caps, iova_pgsizes=0x40201000, cap_offset=24") &&
              contains(r.text, "caps=[migration@24 ") && contains(r.text, "dma_avail@56 ") &&
              contains(r.text, "avail=65535") &&
              contains(r.text, "iova_range@72 ") &&
              contains(r.text, "vfio_iova_range{start=0xfef00000, end=0xffffffffffff}]"),
          "GET_INFO reply: the capability chain, as wire/fmt.hpp prints it", r.text);
    const auto& j = r.js;
    bool ok = j.value("argsz", 0u) == 120 && j.value("flags", std::string()) == "pgsizes|caps" &&
              j.contains("caps") && j["caps"].is_array() && j["caps"].size() == 3 && j["caps"][0]["cap"] == "migration" &&
              j["caps"][1]["value"]["avail"] == 65535 && j["caps"][2]["cap"] == "iova_range" &&
              j["caps"][2]["offset"] == 72 && j["caps"][2]["nr_iovas"][1]["start"] == 0xfef00000u &&
              j["caps"][2]["nr_iovas"][1]["end"] == 0xffffffffffffu;
    check(ok, "GET_INFO reply as JSON: fields, then caps with their values and IOVA ranges", j.dump());

    // the first call of the argsz negotiation: 24 bytes given, 120 asked for, no chain placed (cap_offset 0)
    std::vector<std::byte> small(reply.begin(), reply.begin() + 24);
    put(small, 16, std::uint32_t{0});
    auto t = vt::render_image(uapi::vfio::iommu_get_info, small, small, vt::phase::reply, self_ctx());
    check(contains(t.text, "caps=truncated(argsz 120 needed)") && t.js["caps"] == "truncated: argsz 120 needed",
          "GET_INFO reply that did not fit: the argsz the kernel asks for", t.text + " " + t.js.dump());

    // a chain that points backwards is reported, not walked
    auto bad = reply;
    put(bad, 24 + 4, std::uint32_t{24});  // migration's next -> itself
    auto b = vt::render_image(uapi::vfio::iommu_get_info, bad, request, vt::phase::reply, self_ctx());
    check(contains(b.text, "capability chain: VFIO_IOMMU_GET_INFO") && contains(b.text, "EINVAL") &&
              b.js.contains("notes"),
          "a malformed chain: the struct, and the chain's error by name", b.text);
}

void ioas_iova_ranges() {
    // the array lives in the tracee; here the "tracee" is this process
    static uapi::iommu_iova_range array[2] = {{0, 0xfedfffff}, {0xfef00000, 0xffffffffffff}};
    uapi::iommu_ioas_iova_ranges req{};
    req.size = sizeof req;
    req.ioas_id = 2;
    req.num_iovas = 2;
    req.allowed_iovas = reinterpret_cast<std::uintptr_t>(array);
    auto rep = req;
    rep.out_iova_alignment = 0x1000;
    std::vector<std::byte> in, out;
    put(in, 0, req);
    put(out, 0, rep);
    auto r = vt::render_image(uapi::iommufd::ioas_iova_ranges, out, in, vt::phase::reply, self_ctx());
    check(contains(r.text, "out_iova_alignment=0x1000} ranges=[iommu_iova_range{start=0x0, last=0xfedfffff}, "
                           "iommu_iova_range{start=0xfef00000, last=0xffffffffffff}]") &&
              r.js["ranges"].size() == 2 && r.js["ranges"][1]["last"] == 0xffffffffffffu,
          "IOAS_IOVA_RANGES reply: the ranges read from the tracee's array", r.text);
}

void set_irqs() {
    uapi::vfio_irq_set h{};
    h.argsz = sizeof h + 8;
    h.flags = uapi::irq_set_flag::data_eventfd | uapi::irq_set_flag::action_trigger;
    h.index = 1;
    h.count = 2;
    std::vector<std::byte> img;
    put(img, 0, h);
    put(img, 20, std::int32_t{10});
    put(img, 24, std::int32_t{11});
    auto r = vt::render_image(uapi::vfio::device_set_irqs, img, {}, vt::phase::request, self_ctx());
    check(r.text == "vfio_irq_set{argsz=28, flags=data_eventfd|action_trigger, index=1, start=0, count=2} eventfds=[10, 11]" &&
              r.js["eventfds"][1] == 11,
          "SET_IRQS: the eventfds after the header", r.text);
}

void mig_state() {
    uapi::vfio_device_feature h{};
    h.argsz = sizeof h + sizeof(uapi::vfio_device_feature_mig_state);
    h.flags = uapi::bitmask<uapi::device_feature_flag>::from_bits(
        static_cast<std::uint32_t>(uapi::device_feature_flag::set) |
        static_cast<std::uint32_t>(uapi::device_feature_id::mig_device_state));
    std::vector<std::byte> img;
    put(img, 0, h);
    put(img, 8, uapi::vfio_device_feature_mig_state{uapi::device_mig_state::stop_copy, -1});
    auto r = vt::render_image(uapi::vfio::device_feature, img, {}, vt::phase::request, self_ctx());
    check(contains(r.text, "feature=mig_device_state payload=vfio_device_feature_mig_state{device_state=stop_copy, data_fd=-1}") &&
              r.js["payload"]["device_state"] == "stop_copy",
          "DEVICE_FEATURE SET: the feature by name and its payload", r.text);
    put(img, 12, std::int32_t{17});  // the kernel's reply: the data transfer fd
    auto rep = vt::render_image(uapi::vfio::device_feature, img, {}, vt::phase::reply, self_ctx());
    check(contains(rep.text, "data_fd=17"), "DEVICE_FEATURE SET reply: the data_fd the kernel wrote", rep.text);
}

void short_image() {
    uapi::vfio_device_bind_iommufd b{};
    b.argsz = 16;
    b.iommufd = 3;
    std::vector<std::byte> img(16);
    std::memcpy(img.data(), &b, 16);
    auto r = vt::render_image(uapi::vfio::device_bind_iommufd, img, {}, vt::phase::request, self_ctx());
    check(contains(r.text, "vfio_device_bind_iommufd{argsz=16, flags=0, iommufd=3,") &&
              contains(r.text, "(16 of 24 bytes: the kernel reads no further)") && r.js["notes"].size() == 1,
          "an argsz shorter than the mirror (QEMU's BIND_IOMMUFD): said so", r.text);
}

}  // namespace

int main() {
    iommu_get_info();
    ioas_iova_ranges();
    set_irqs();
    mig_state();
    short_image();
    std::printf("vfio-trace render: %d passed, %d failed\n", passed, failed);
    if (failed) return 1;
    std::printf("vfio-trace render: all %d checks passed\n", passed);
    return 0;
}
