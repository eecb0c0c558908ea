// Building and serializing fixed-size and inline-bounded requests never touches the heap: global operator
// new/delete are replaced in this test binary and counted around the builders.
#include <vfiopp/wire/iommufd.hpp>
#include <vfiopp/wire/nesting.hpp>
#include <vfiopp/wire/vfio.hpp>

#include <catch2/catch_test_macros.hpp>

#include <atomic>
#include <cstdlib>
#include <new>

namespace {
std::atomic<std::size_t> allocations{0};
}

void* operator new(std::size_t n) {
    allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc{};
}
void* operator new[](std::size_t n) { return operator new(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

using namespace vfiopp;
using namespace vfiopp::uapi;
namespace wv = vfiopp::wire::vfio;

TEST_CASE("building every request kind allocates nothing", "[wire][alloc]") {
    std::array<int, 4> fds{3, 4, 5, 6};
    std::array<bool, 2> bits{true, false};
    std::array<iommu_hwpt_vtd_s1_invalidate, 2> inv{};
    iommu_hwpt_vtd_s1 s1{};
    vfio_region_info ri{};
    std::size_t total = 0;
    std::size_t before = allocations.load();
    {
        auto a = wire::prep<vfio::device_get_region_info>(ri);
        auto b = wire::prep_with_room<vfio::iommu_get_info, 512>({});
        wv::set_irqs_request<4> c;
        auto c1 = wv::set_irqs_eventfds<wv::irq_trigger>(c, pci_irq_index::msix, 0, std::span<const int>(fds));
        wv::set_irqs_request<4> d;
        auto d1 = wv::set_irqs_bools<wv::irq_mask>(d, pci_irq_index::msi, 0, std::span<const bool>(bits));
        auto e = wv::set_irqs_none<wv::irq_trigger>(pci_irq_index::intx, 0, 0);
        auto f = wv::feature_set(vfio_device_feature_mig_state{device_mig_state::stop, -1});
        auto g = wv::feature_get<vfio_device_feature_migration>();
        auto h = wv::feature_probe<vfio_device_feature_dma_logging_report>();
        auto i = wv::pci_hot_reset_devid();
        wv::pci_hot_reset_request<4> j;
        auto j1 = wv::pci_hot_reset_groups(j, std::span<const int>(fds));
        auto k = wv::iommu_map_dma(0x1000, 0x1000, 0x1000, map_dma_flag::read);
        iommu_gpasid_bind_data bd{};
        bd.format = iommu_pasid_format::intel_vtd;
        bd.hpasid = 5;
        iommu_cache_invalidate_info ci{};
        ci.cache = iommu_cache_inv_type::iotlb;
        auto l = wire::nesting_op<abi::seed>(wire::bind_pgtbl{bd});
        auto m = wire::nesting_op<abi::v7>(wire::cache_invalidate{ci});
        auto m2 = wire::nesting_op<abi::v7>(wire::cache_invalidate{});  // refused (no cache): no heap either
        auto n = wire::iommufd::hwpt_alloc(1, 2, {}, s1);
        auto o = wire::iommufd::hwpt_invalidate(3, inv);
        auto p = wire::prep<vfio::check_extension>(1u);
        auto overflow = wv::set_irqs_eventfds<wv::irq_trigger>(c, pci_irq_index::msix, 0xffffffffu, std::span<const int>(fds));
        total = a.size() + b.size() + c.size() + d.size() + e.size() + f.size() + g.size() + h.size() + i.size() +
                j.size() + k->size() + l->size() + m->size() + !m2.has_value() + n->size() + o->size() + p.value() + c1.has_value() +
                d1.has_value() + j1.has_value() + overflow.has_value();
    }
    std::size_t after = allocations.load();
    CHECK(total > 0);
    CHECK(after - before == 0);
    // the counter works: a heap allocation is seen
    auto* probe = new int(1);
    CHECK(allocations.load() == after + 1);
    delete probe;
}
