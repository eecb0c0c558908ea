// selftest.c - checks, inside the test VM, that the testbed gives what vfiopp's VM tests rely on: VFIO type1 on
// both edu devices, DMA through the emulated VT-d IOMMU with the data verified, a DMAR fault (and no write) for
// DMA to an unmapped IOVA, MSI and INTx through eventfds, region read/write and BAR0 mmap; with the Linux 7.3
// headers and the iommufd kernel also the VFIO cdev + iommufd path and an mtty migration round trip.
// Plain C against the kernel's uapi headers, built twice: against the system's 6.1 headers (debian kernel) and
// against the 7.3 headers (iommufd kernel); the 7.3-only parts are compiled when the headers have them.
// Run it with tests/vm/run, which provides the VFIOPP_* environment (see tests/vm/run). Prints one PASS/FAIL
// line per check and "N passed, M failed" last; exit status 0 only when nothing failed and something passed.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/vfio.h>
#ifdef VFIO_DEVICE_BIND_IOMMUFD
#include <linux/iommufd.h>
#define SELFTEST_HAS_IOMMUFD 1
#else
#define SELFTEST_HAS_IOMMUFD 0
#endif

static int n_pass, n_fail;

// check(ok, fmt, ...): one PASS/FAIL line; returns ok so callers can stop a sequence that cannot go on.
static int check(int ok, const char *fmt, ...)
{
    va_list ap;
    printf("%s: ", ok ? "PASS" : "FAIL");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    if (ok) n_pass++;
    else n_fail++;
    return ok;
}

static void info(const char *fmt, ...)
{
    va_list ap;
    printf("INFO: ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

static const char *err_text(int r) { return r < 0 ? strerror(errno) : "ok"; }

// ---- the environment tests/vm/run provides ----
#define MAX_DEVS 8
struct dev_list {
    int n;
    char name[MAX_DEVS][64];
};

static void split_env(const char *var, struct dev_list *out)
{
    memset(out, 0, sizeof *out);
    const char *v = getenv(var);
    if (!v) return;
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", v);
    for (char *save = NULL, *tok = strtok_r(buf, " ", &save); tok && out->n < MAX_DEVS; tok = strtok_r(NULL, " ", &save))
        snprintf(out->name[out->n++], sizeof out->name[0], "%s", tok);
}

// ---- edu (QEMU's educational PCI device) ----
enum {
    edu_id = 0x00, edu_liveness = 0x04, edu_irq_status = 0x24, edu_irq_raise = 0x60, edu_irq_ack = 0x64,
    edu_dma_src = 0x80, edu_dma_dst = 0x88, edu_dma_count = 0x90, edu_dma_cmd = 0x98, edu_buffer = 0x40000,
};
enum { edu_cmd_start = 1, edu_cmd_to_ram = 2, edu_cmd_irq = 4 };
#define EDU_IOVA_BASE 0x100000ull      // below edu's 28-bit DMA mask
#define EDU_IOVA_UNMAPPED 0x7000000ull // below the mask too, never mapped

static uint32_t rd32(volatile uint8_t *bar, unsigned off) { return *(volatile uint32_t *)(bar + off); }
static void wr32(volatile uint8_t *bar, unsigned off, uint32_t v) { *(volatile uint32_t *)(bar + off) = v; }
static uint64_t rd64(volatile uint8_t *bar, unsigned off) { return *(volatile uint64_t *)(bar + off); }
static void wr64(volatile uint8_t *bar, unsigned off, uint64_t v) { *(volatile uint64_t *)(bar + off) = v; }

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

// Runs one edu DMA and waits for it (edu completes after a 100 ms timer); 0 on completion, -1 on timeout.
static int edu_dma(volatile uint8_t *bar, uint64_t src, uint64_t dst, uint64_t count, uint32_t cmd)
{
    wr64(bar, edu_dma_src, src);
    wr64(bar, edu_dma_dst, dst);
    wr64(bar, edu_dma_count, count);
    wr64(bar, edu_dma_cmd, cmd | edu_cmd_start);
    for (double t0 = now_s(); rd64(bar, edu_dma_cmd) & edu_cmd_start; usleep(1000))
        if (now_s() - t0 > 5.0) return -1;
    return 0;
}

// ---- guest kernel log: the DMAR fault report ----
// Reads /dev/kmsg records written after `since_seq` and looks for a DMAR fault line naming `iova`.
static int kmsg_has_dmar_fault(uint64_t since_seq, uint64_t iova, char *line, size_t line_len)
{
    int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
    if (fd < 0) return 0;
    char rec[1024], want[48];
    snprintf(want, sizeof want, "addr 0x%" PRIx64 " ", iova);  // "fault addr 0x1000 [fault reason ...]"
    int found = 0;
    for (;;) {
        ssize_t n = read(fd, rec, sizeof rec - 1);
        if (n < 0 && errno == EPIPE) continue; // overwritten records: skip
        if (n <= 0) break;
        rec[n] = 0;
        unsigned prio;
        unsigned long long seq;
        if (sscanf(rec, "%u,%llu,", &prio, &seq) != 2 || seq < since_seq) continue;
        const char *msg = strchr(rec, ';');
        // Only a fault record naming this IOVA counts ("DMAR: [DMA Write NO_PASID] Request device [00:03.0]
        // fault addr 0x... [fault reason ...]"): a bare "DRHD: handling fault status" line proves nothing about
        // which access faulted.
        if (msg && strstr(msg, "DMAR") && strstr(msg, "fault addr") && strstr(msg, want)) {
            snprintf(line, line_len, "%.*s", (int)strcspn(msg + 1, "\n"), msg + 1);
            found = 1;
            break;
        }
    }
    close(fd);
    return found;
}

// The sequence number the next kernel log record will get.
static uint64_t kmsg_next_seq(void)
{
    int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
    if (fd < 0) return 0;
    lseek(fd, 0, SEEK_END);
    char rec[1024];
    uint64_t next = 0;
    // After SEEK_END nothing is readable yet; log one marker record and take its number.
    int wfd = open("/dev/kmsg", O_WRONLY);
    if (wfd >= 0) {
        const char *m = "vfiopp-selftest: marker\n";
        ssize_t w = write(wfd, m, strlen(m));
        (void)w;
        close(wfd);
    }
    ssize_t n = read(fd, rec, sizeof rec - 1);
    if (n > 0) {
        rec[n] = 0;
        unsigned prio;
        unsigned long long seq;
        if (sscanf(rec, "%u,%llu,", &prio, &seq) == 2) next = seq + 1;
    }
    close(fd);
    return next;
}

// ---- VFIO device helpers (shared by the type1 and the cdev paths) ----
struct edu_dev {
    const char *tag;
    int fd;
    uint64_t cfg_off, bar0_off, bar0_size;
    volatile uint8_t *bar;
};

static int set_irq_eventfd(int devfd, unsigned index, int efd)
{
    char b[sizeof(struct vfio_irq_set) + sizeof(int32_t)];
    struct vfio_irq_set *s = (struct vfio_irq_set *)b;
    *s = (struct vfio_irq_set){ .argsz = sizeof b, .flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
                                .index = index, .start = 0, .count = 1 };
    memcpy(s->data, &efd, sizeof efd);
    return ioctl(devfd, VFIO_DEVICE_SET_IRQS, s);
}

static int irq_action(int devfd, unsigned index, uint32_t action, uint32_t count)
{
    struct vfio_irq_set s = { .argsz = sizeof s, .flags = VFIO_IRQ_SET_DATA_NONE | action, .index = index,
                              .start = 0, .count = count };
    return ioctl(devfd, VFIO_DEVICE_SET_IRQS, &s);
}

static int wait_eventfd(int efd, int ms, uint64_t *count)
{
    struct pollfd p = { .fd = efd, .events = POLLIN };
    if (poll(&p, 1, ms) != 1) return -1;
    return read(efd, count, sizeof *count) == (ssize_t)sizeof *count ? 0 : -1;
}

// Device info, region info, config space, bus master, BAR0 region read/write and mmap.
static int edu_open_checks(struct edu_dev *d)
{
    struct vfio_device_info di = { .argsz = sizeof di };
    int r = ioctl(d->fd, VFIO_DEVICE_GET_INFO, &di);
    check(r == 0 && (di.flags & VFIO_DEVICE_FLAGS_PCI) && di.num_regions >= VFIO_PCI_NUM_REGIONS &&
              di.num_irqs >= VFIO_PCI_NUM_IRQS,
          "[%s] DEVICE_GET_INFO: flags 0x%x, %u regions, %u irqs (%s)", d->tag, di.flags, di.num_regions, di.num_irqs,
          err_text(r));
    struct vfio_region_info cfg = { .argsz = sizeof cfg, .index = VFIO_PCI_CONFIG_REGION_INDEX };
    struct vfio_region_info bar0 = { .argsz = sizeof bar0, .index = VFIO_PCI_BAR0_REGION_INDEX };
    int rc = ioctl(d->fd, VFIO_DEVICE_GET_REGION_INFO, &cfg);
    r = ioctl(d->fd, VFIO_DEVICE_GET_REGION_INFO, &bar0);
    const uint32_t rwm = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE | VFIO_REGION_INFO_FLAG_MMAP;
    if (!check(rc == 0 && r == 0 && bar0.size == 1u << 20 && (bar0.flags & rwm) == rwm,
               "[%s] GET_REGION_INFO: config at 0x%llx, BAR0 %llu KiB at 0x%llx flags 0x%x (%s)", d->tag,
               (unsigned long long)cfg.offset, (unsigned long long)bar0.size >> 10, (unsigned long long)bar0.offset,
               bar0.flags, err_text(rc < 0 ? rc : r)))
        return -1;
    d->cfg_off = cfg.offset;
    d->bar0_off = bar0.offset;
    d->bar0_size = bar0.size;

    uint32_t id = 0;
    ssize_t n = pread(d->fd, &id, 4, (off_t)d->cfg_off);
    check(n == 4 && id == 0x11e81234, "[%s] config space read: vendor/device 0x%08x", d->tag, id);
    uint16_t cmd = 0;
    n = pread(d->fd, &cmd, 2, (off_t)d->cfg_off + 4);
    cmd |= 0x6; // memory space + bus master: vfio-pci leaves bus mastering off
    ssize_t w = pwrite(d->fd, &cmd, 2, (off_t)d->cfg_off + 4);
    cmd = 0;
    n = pread(d->fd, &cmd, 2, (off_t)d->cfg_off + 4);
    check(w == 2 && n == 2 && (cmd & 0x6) == 0x6, "[%s] config space write: PCI_COMMAND 0x%04x", d->tag, cmd);

    // BAR0 through the region's read/write interface: edu's liveness register returns the complement.
    uint32_t probe = 0x5a5aa5a5, back = 0, eid = 0;
    w = pwrite(d->fd, &probe, 4, (off_t)(d->bar0_off + edu_liveness));
    n = pread(d->fd, &back, 4, (off_t)(d->bar0_off + edu_liveness));
    ssize_t n2 = pread(d->fd, &eid, 4, (off_t)(d->bar0_off + edu_id));
    check(w == 4 && n == 4 && n2 == 4 && back == ~probe && (eid & 0xffff) == 0xed,
          "[%s] BAR0 region read/write: id 0x%08x, liveness ~0x%08x = 0x%08x", d->tag, eid, probe, back);

    void *m = mmap(NULL, d->bar0_size, PROT_READ | PROT_WRITE, MAP_SHARED, d->fd, (off_t)d->bar0_off);
    if (!check(m != MAP_FAILED, "[%s] mmap BAR0 (%s)", d->tag, m == MAP_FAILED ? strerror(errno) : "ok")) return -1;
    d->bar = m;
    wr32(d->bar, edu_liveness, 0x12345678);
    back = rd32(d->bar, edu_liveness);
    check((rd32(d->bar, edu_id) & 0xffff) == 0xed && back == ~0x12345678u,
          "[%s] BAR0 mmap access: id 0x%08x, liveness 0x%08x", d->tag, rd32(d->bar, edu_id), back);
    return 0;
}

// DMA RAM (src page) -> device buffer -> RAM (dst page) through the IOMMU; the bytes must arrive unchanged.
static void edu_dma_round_trip(struct edu_dev *d, uint8_t *src, uint8_t *dst, uint64_t src_iova, uint64_t dst_iova,
                               uint8_t seed)
{
    for (unsigned i = 0; i < 4096; i++) src[i] = (uint8_t)(i * 7 + seed);
    memset(dst, 0, 4096);
    int r1 = edu_dma(d->bar, src_iova, edu_buffer, 4096, 0);
    int r2 = edu_dma(d->bar, edu_buffer, dst_iova, 4096, edu_cmd_to_ram);
    unsigned bad = 0;
    for (unsigned i = 0; i < 4096; i++) bad += dst[i] != src[i];
    check(r1 == 0 && r2 == 0 && bad == 0,
          "[%s] DMA round trip iova 0x%" PRIx64 " -> device -> iova 0x%" PRIx64 ": 4096 bytes, %u differ%s", d->tag,
          src_iova, dst_iova, bad, r1 || r2 ? " (DMA never completed)" : "");
}

// DMA from the device to an IOVA that is not mapped (any more): nothing may land in `victim` (the page that
// was mapped there), and the IOMMU must report a DMAR fault in the kernel log.
// QEMU's VT-d model may fold a fault into a still-pending one and then log no record of its own (seen with several
// faults in one boot), so the DMA is provoked again, up to 5 times, until a record naming this IOVA appears; each
// attempt must leave the page untouched.
static void edu_dma_unmapped(struct edu_dev *d, uint8_t *victim, uint64_t iova)
{
    uint64_t seq = kmsg_next_seq();
    char line[300] = "";
    int fault = 0, attempts = 0, r = 0;
    unsigned written = 0;
    while (!fault && attempts < 5) {
        attempts++;
        r |= edu_dma(d->bar, edu_buffer, iova, 4096, edu_cmd_to_ram);
        for (unsigned i = 0; i < 4096; i++) written += victim[i] != 0xa5;
        for (double t0 = now_s(); !fault && now_s() - t0 < 2.0; usleep(20000))
            fault = kmsg_has_dmar_fault(seq, iova, line, sizeof line);
    }
    check(r == 0 && written == 0, "[%s] DMA to unmapped iova 0x%" PRIx64 " (%d attempt%s): %u bytes reached the unmapped page",
          d->tag, iova, attempts, attempts == 1 ? "" : "s", written);
    check(fault, "[%s] DMAR fault record names iova 0x%" PRIx64 ": %s", d->tag, iova,
          fault ? line : "(no record naming it after 5 attempts)");
}

// INTx: eventfd trigger, acknowledge, unmask, second interrupt; MSI: raise register and DMA completion.
static void edu_irq_checks(struct edu_dev *d, uint64_t src_iova)
{
    int efd = eventfd(0, EFD_CLOEXEC);
    int r = set_irq_eventfd(d->fd, VFIO_PCI_INTX_IRQ_INDEX, efd);
    if (check(r == 0, "[%s] SET_IRQS INTx -> eventfd (%s)", d->tag, err_text(r))) {
        for (int round = 1; round <= 2; round++) {
            uint64_t count = 0;
            wr32(d->bar, edu_irq_raise, (uint32_t)round);
            int w = wait_eventfd(efd, 2000, &count);
            uint32_t st = rd32(d->bar, edu_irq_status);
            wr32(d->bar, edu_irq_ack, st);
            int u = irq_action(d->fd, VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_UNMASK, 1);
            check(w == 0 && st == (uint32_t)round && u == 0, "[%s] INTx #%d through the eventfd: status 0x%x, unmask %s",
                  d->tag, round, st, err_text(u));
        }
        irq_action(d->fd, VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER, 0);
    }
    close(efd);

    efd = eventfd(0, EFD_CLOEXEC);
    r = set_irq_eventfd(d->fd, VFIO_PCI_MSI_IRQ_INDEX, efd);
    if (check(r == 0, "[%s] SET_IRQS MSI -> eventfd (%s)", d->tag, err_text(r))) {
        uint64_t count = 0;
        wr32(d->bar, edu_irq_raise, 0x1);
        int w = wait_eventfd(efd, 2000, &count);
        uint32_t st = rd32(d->bar, edu_irq_status);
        wr32(d->bar, edu_irq_ack, st);
        check(w == 0 && st == 0x1, "[%s] MSI from the raise register: status 0x%x", d->tag, st);
        wr64(d->bar, edu_dma_src, src_iova);
        wr64(d->bar, edu_dma_dst, edu_buffer);
        wr64(d->bar, edu_dma_count, 64);
        wr64(d->bar, edu_dma_cmd, edu_cmd_start | edu_cmd_irq);
        w = wait_eventfd(efd, 3000, &count);
        st = rd32(d->bar, edu_irq_status);
        wr32(d->bar, edu_irq_ack, st);
        check(w == 0 && st == 0x100, "[%s] MSI on DMA completion: status 0x%x", d->tag, st);
        irq_action(d->fd, VFIO_PCI_MSI_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER, 0);
    }
    close(efd);
}

static void edu_close(struct edu_dev *d)
{
    if (d->bar) munmap((void *)d->bar, d->bar0_size);
    d->bar = NULL;
    if (d->fd >= 0) close(d->fd);
    d->fd = -1;
}

// Three pages per device: src, dst and a victim page that is mapped, then unmapped, then targeted by DMA.
struct dma_pages {
    uint8_t *src, *dst, *victim;
    uint64_t src_iova, dst_iova, victim_iova;
};

static struct dma_pages dma_pages_for(unsigned index)
{
    struct dma_pages p;
    uint8_t *mem = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (mem == MAP_FAILED) {
        perror("mmap");
        exit(2);
    }
    p.src = mem;
    p.dst = mem + 4096;
    p.victim = mem + 8192;
    p.src_iova = EDU_IOVA_BASE + index * 0x10000;
    p.dst_iova = p.src_iova + 0x1000;
    p.victim_iova = p.src_iova + 0x2000;
    return p;
}

// ---- enumeration ----
static void check_enumeration(const struct dev_list *edu, const struct dev_list *groups)
{
    check(edu->n == 2 && groups->n == 2, "enumeration: %d edu devices (%s%s%s), %d groups", edu->n,
          edu->n > 0 ? edu->name[0] : "", edu->n > 1 ? " " : "", edu->n > 1 ? edu->name[1] : "", groups->n);
    for (int i = 0; i < edu->n && i < groups->n; i++) {
        char path[256], link[256] = "";
        snprintf(path, sizeof path, "/sys/bus/pci/devices/%s/driver", edu->name[i]);
        ssize_t n = readlink(path, link, sizeof link - 1);
        if (n > 0) link[n] = 0;
        const char *drv = strrchr(link, '/') ? strrchr(link, '/') + 1 : link;
        snprintf(path, sizeof path, "/dev/vfio/%s", groups->name[i]);
        check(strcmp(drv, "vfio-pci") == 0 && access(path, R_OK | W_OK) == 0, "enumeration: %s bound to %s, group %s",
              edu->name[i], drv[0] ? drv : "(none)", path);
    }
    if (groups->n == 2)
        check(strcmp(groups->name[0], groups->name[1]) != 0, "enumeration: each edu in its own group (%s, %s)",
              groups->name[0], groups->name[1]);
}

// ---- type1: container + groups ----
static void test_type1(const struct dev_list *edu, const struct dev_list *groups)
{
    printf("==== VFIO type1 (container, group) ====\n");
    int cfd = open("/dev/vfio/vfio", O_RDWR);
    if (!check(cfd >= 0, "[type1] open /dev/vfio/vfio (%s)", err_text(cfd))) return;
    int v = ioctl(cfd, VFIO_GET_API_VERSION);
    check(v == VFIO_API_VERSION, "[type1] GET_API_VERSION = %d", v);
    int e = ioctl(cfd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU);
    check(e == 1, "[type1] CHECK_EXTENSION(TYPE1v2) = %d", e);

    int gfd[MAX_DEVS];
    int n = edu->n < groups->n ? edu->n : groups->n;
    for (int i = 0; i < n; i++) {
        char path[96];
        snprintf(path, sizeof path, "/dev/vfio/%s", groups->name[i]);
        gfd[i] = open(path, O_RDWR);
        struct vfio_group_status gs = { .argsz = sizeof gs };
        int r = gfd[i] >= 0 ? ioctl(gfd[i], VFIO_GROUP_GET_STATUS, &gs) : -1;
        check(r == 0 && (gs.flags & VFIO_GROUP_FLAGS_VIABLE), "[type1] %s GET_STATUS flags 0x%x (%s)", path, gs.flags,
              err_text(r));
        r = gfd[i] >= 0 ? ioctl(gfd[i], VFIO_GROUP_SET_CONTAINER, &cfd) : -1;
        check(r == 0, "[type1] %s SET_CONTAINER (%s)", path, err_text(r));
        if (i == 0) { // the IOMMU model is set once, after the first group joined
            r = ioctl(cfd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU);
            check(r == 0, "[type1] SET_IOMMU(TYPE1v2) (%s)", err_text(r));
        }
    }

    // GET_INFO: the first call tells the size the capability chain needs
    struct vfio_iommu_type1_info probe = { .argsz = sizeof probe };
    int r = ioctl(cfd, VFIO_IOMMU_GET_INFO, &probe);
    uint32_t need = probe.argsz > sizeof probe ? probe.argsz : (uint32_t)sizeof probe;
    struct vfio_iommu_type1_info *ii = calloc(1, need);
    ii->argsz = need;
    r = r == 0 ? ioctl(cfd, VFIO_IOMMU_GET_INFO, ii) : r;
    int ranges = 0;
    if (r == 0 && (ii->flags & VFIO_IOMMU_INFO_CAPS))
        for (uint32_t off = ii->cap_offset; off && off + sizeof(struct vfio_info_cap_header) <= need;) {
            struct vfio_info_cap_header *h = (struct vfio_info_cap_header *)((char *)ii + off);
            if (h->id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE)
                ranges = (int)((struct vfio_iommu_type1_info_cap_iova_range *)h)->nr_iovas;
            off = h->next;
        }
    check(r == 0 && (ii->iova_pgsizes & 4096) && ranges >= 1,
          "[type1] IOMMU_GET_INFO: argsz %u, flags 0x%x, iova_pgsizes 0x%llx, %d IOVA ranges (%s)", need, ii->flags,
          (unsigned long long)ii->iova_pgsizes, ranges, err_text(r));
    free(ii);

    for (int i = 0; i < n; i++) {
        char tag[96];
        snprintf(tag, sizeof tag, "type1 %s", edu->name[i]);
        struct dma_pages p = dma_pages_for((unsigned)i);
        struct { uint8_t *va; uint64_t iova; } maps[3] = { { p.src, p.src_iova }, { p.dst, p.dst_iova },
                                                           { p.victim, p.victim_iova } };
        int mapped = 1;
        for (int k = 0; k < 3; k++) {
            struct vfio_iommu_type1_dma_map dm = { .argsz = sizeof dm,
                                                   .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
                                                   .vaddr = (uintptr_t)maps[k].va, .iova = maps[k].iova, .size = 4096 };
            r = ioctl(cfd, VFIO_IOMMU_MAP_DMA, &dm);
            mapped &= check(r == 0, "[%s] MAP_DMA 4 KiB at iova 0x%" PRIx64 " (%s)", tag, maps[k].iova, err_text(r));
        }
        struct edu_dev d = { .tag = tag, .fd = ioctl(gfd[i], VFIO_GROUP_GET_DEVICE_FD, edu->name[i]) };
        if (check(d.fd >= 0, "[%s] GROUP_GET_DEVICE_FD (%s)", tag, err_text(d.fd)) && mapped &&
            edu_open_checks(&d) == 0) {
            edu_dma_round_trip(&d, p.src, p.dst, p.src_iova, p.dst_iova, (uint8_t)(3 + i));
            memset(p.victim, 0xa5, 4096);
            struct vfio_iommu_type1_dma_unmap um = { .argsz = sizeof um, .iova = p.victim_iova, .size = 4096 };
            r = ioctl(cfd, VFIO_IOMMU_UNMAP_DMA, &um);
            check(r == 0 && um.size == 4096, "[%s] UNMAP_DMA iova 0x%" PRIx64 ": %llu bytes (%s)", tag, p.victim_iova,
                  (unsigned long long)um.size, err_text(r));
            edu_dma_unmapped(&d, p.victim, p.victim_iova);
            edu_irq_checks(&d, p.src_iova);
        }
        edu_close(&d);
        for (int k = 0; k < 2; k++) {
            struct vfio_iommu_type1_dma_unmap um = { .argsz = sizeof um, .iova = maps[k].iova, .size = 4096 };
            r = ioctl(cfd, VFIO_IOMMU_UNMAP_DMA, &um);
            check(r == 0 && um.size == 4096, "[%s] UNMAP_DMA iova 0x%" PRIx64 " (%s)", tag, maps[k].iova, err_text(r));
        }
        munmap(p.src, 3 * 4096);
    }
    for (int i = 0; i < n; i++)
        if (gfd[i] >= 0) {
            ioctl(gfd[i], VFIO_GROUP_UNSET_CONTAINER);
            close(gfd[i]);
        }
    close(cfd);
}

#if SELFTEST_HAS_IOMMUFD
// ---- VFIO cdev + iommufd ----
static int ioas_map(int ifd, uint32_t ioas, void *va, uint64_t iova)
{
    struct iommu_ioas_map m = { .size = sizeof m,
                                .flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
                                .ioas_id = ioas, .user_va = (uintptr_t)va, .length = 4096, .iova = iova };
    return ioctl(ifd, IOMMU_IOAS_MAP, &m);
}

static int ioas_unmap(int ifd, uint32_t ioas, uint64_t iova, uint64_t *length)
{
    struct iommu_ioas_unmap u = { .size = sizeof u, .ioas_id = ioas, .iova = iova, .length = 4096 };
    int r = ioctl(ifd, IOMMU_IOAS_UNMAP, &u);
    *length = u.length;
    return r;
}

static void test_iommufd(const struct dev_list *edu, const struct dev_list *cdevs)
{
    printf("==== VFIO cdev + iommufd ====\n");
    if (!check(cdevs->n == edu->n && edu->n > 0, "[iommufd] every edu has a VFIO cdev (%d of %d)", cdevs->n, edu->n))
        return;
    int ifd = open("/dev/iommu", O_RDWR);
    if (!check(ifd >= 0, "[iommufd] open /dev/iommu (%s)", err_text(ifd))) return;
    struct iommu_ioas_alloc ia = { .size = sizeof ia };
    int r = ioctl(ifd, IOMMU_IOAS_ALLOC, &ia);
    check(r == 0, "[iommufd] IOAS_ALLOC: ioas %u (%s)", ia.out_ioas_id, err_text(r));
    for (int i = 0; i < edu->n && r == 0; i++) {
        char tag[96];
        snprintf(tag, sizeof tag, "iommufd %s", edu->name[i]);
        struct edu_dev d = { .tag = tag, .fd = open(cdevs->name[i], O_RDWR) };
        if (!check(d.fd >= 0, "[%s] open %s (%s)", tag, cdevs->name[i], err_text(d.fd))) continue;
        struct vfio_device_bind_iommufd bind = { .argsz = sizeof bind, .iommufd = ifd };
        int rb = ioctl(d.fd, VFIO_DEVICE_BIND_IOMMUFD, &bind);
        check(rb == 0, "[%s] BIND_IOMMUFD: devid %u (%s)", tag, bind.out_devid, err_text(rb));
        struct vfio_device_attach_iommufd_pt at = { .argsz = sizeof at, .pt_id = ia.out_ioas_id };
        int ra = rb == 0 ? ioctl(d.fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at) : -1;
        check(ra == 0, "[%s] ATTACH_IOMMUFD_PT to ioas %u: pt %u (%s)", tag, ia.out_ioas_id, at.pt_id, err_text(ra));
        struct dma_pages p = dma_pages_for((unsigned)i);
        int mapped = 1;
        uint8_t *vas[3] = { p.src, p.dst, p.victim };
        uint64_t iovas[3] = { p.src_iova, p.dst_iova, p.victim_iova };
        for (int k = 0; k < 3; k++) {
            int rm = ioas_map(ifd, ia.out_ioas_id, vas[k], iovas[k]);
            mapped &= check(rm == 0, "[%s] IOAS_MAP 4 KiB at iova 0x%" PRIx64 " (%s)", tag, iovas[k], err_text(rm));
        }
        if (ra == 0 && mapped && edu_open_checks(&d) == 0) {
            edu_dma_round_trip(&d, p.src, p.dst, p.src_iova, p.dst_iova, (uint8_t)(11 + i));
            memset(p.victim, 0xa5, 4096);
            uint64_t len = 0;
            int ru = ioas_unmap(ifd, ia.out_ioas_id, p.victim_iova, &len);
            check(ru == 0 && len == 4096, "[%s] IOAS_UNMAP iova 0x%" PRIx64 ": %llu bytes (%s)", tag, p.victim_iova,
                  (unsigned long long)len, err_text(ru));
            edu_dma_unmapped(&d, p.victim, p.victim_iova);
            edu_irq_checks(&d, p.src_iova);
        }
        edu_close(&d); // closing the cdev detaches and unbinds
        for (int k = 0; k < 2; k++) {
            uint64_t len = 0;
            int ru = ioas_unmap(ifd, ia.out_ioas_id, iovas[k], &len);
            check(ru == 0 && len == 4096, "[%s] IOAS_UNMAP iova 0x%" PRIx64 " (%s)", tag, iovas[k], err_text(ru));
        }
        munmap(p.src, 3 * 4096);
    }
    close(ifd);
}
#endif

// ---- mtty: migration between two instances ----
static const char *mig_state_name(uint32_t s)
{
    static const char *names[] = { "ERROR", "STOP", "RUNNING", "STOP_COPY", "RESUMING", "RUNNING_P2P", "PRE_COPY",
                                   "PRE_COPY_P2P" };
    return s < 8 ? names[s] : "?";
}

// Sets the migration state; returns the data fd (or -1 when the new state has none), -2 on error.
static int mig_set_state(int devfd, uint32_t state)
{
    char b[sizeof(struct vfio_device_feature) + sizeof(struct vfio_device_feature_mig_state)] = { 0 };
    struct vfio_device_feature *f = (struct vfio_device_feature *)b;
    f->argsz = sizeof b;
    f->flags = VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE;
    struct vfio_device_feature_mig_state *m = (struct vfio_device_feature_mig_state *)f->data;
    m->device_state = state;
    m->data_fd = -1;
    if (ioctl(devfd, VFIO_DEVICE_FEATURE, f) < 0) return -2;
    return m->data_fd;
}

static int mig_get_state(int devfd, uint32_t *state)
{
    char b[sizeof(struct vfio_device_feature) + sizeof(struct vfio_device_feature_mig_state)] = { 0 };
    struct vfio_device_feature *f = (struct vfio_device_feature *)b;
    f->argsz = sizeof b;
    f->flags = VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE;
    int r = ioctl(devfd, VFIO_DEVICE_FEATURE, f);
    *state = ((struct vfio_device_feature_mig_state *)f->data)->device_state;
    return r;
}

// The serial-port state an mtty port shows through BAR0/BAR1 (16550: 3 LCR, 5 LSR, 7 SCR, 0 RX).
struct uart_state {
    uint8_t lcr, scr, lsr;
    char rx[4];
};

static uint64_t bar_offset(int devfd, unsigned bar)
{
    struct vfio_region_info ri = { .argsz = sizeof ri, .index = VFIO_PCI_BAR0_REGION_INDEX + bar };
    return ioctl(devfd, VFIO_DEVICE_GET_REGION_INFO, &ri) == 0 ? ri.offset : UINT64_MAX;
}

static int uart_program(int devfd, unsigned bar, uint8_t scr, const char *tx)
{
    uint64_t base = bar_offset(devfd, bar);
    uint8_t lcr = 0x03, fcr = 0x07;
    int ok = base != UINT64_MAX && pwrite(devfd, &lcr, 1, (off_t)base + 3) == 1 &&
             pwrite(devfd, &scr, 1, (off_t)base + 7) == 1 && pwrite(devfd, &fcr, 1, (off_t)base + 2) == 1;
    for (int i = 0; ok && tx[i]; i++) ok = pwrite(devfd, &tx[i], 1, (off_t)base) == 1; // loopback fills RX
    return ok ? 0 : -1;
}

static int uart_read(int devfd, unsigned bar, struct uart_state *s, int rx_bytes)
{
    uint64_t base = bar_offset(devfd, bar);
    memset(s, 0, sizeof *s);
    int ok = base != UINT64_MAX && pread(devfd, &s->lcr, 1, (off_t)base + 3) == 1 &&
             pread(devfd, &s->scr, 1, (off_t)base + 7) == 1 && pread(devfd, &s->lsr, 1, (off_t)base + 5) == 1;
    for (int i = 0; ok && i < rx_bytes; i++) ok = pread(devfd, &s->rx[i], 1, (off_t)base) == 1;
    return ok ? 0 : -1;
}

static void test_mtty_migration(const struct dev_list *uuids, const struct dev_list *groups)
{
    printf("==== mtty migration (type1 container) ====\n");
    if (!check(uuids->n >= 2 && groups->n == uuids->n, "[mtty] %d instances, %d groups (need 2)", uuids->n, groups->n))
        return;
    int cfd = open("/dev/vfio/vfio", O_RDWR);
    int gfd[2], dev[2];
    for (int i = 0; i < 2; i++) {
        char path[96];
        snprintf(path, sizeof path, "/dev/vfio/%s", groups->name[i]);
        gfd[i] = open(path, O_RDWR);
        int r = gfd[i] >= 0 ? ioctl(gfd[i], VFIO_GROUP_SET_CONTAINER, &cfd) : -1;
        if (i == 0 && r == 0) r = ioctl(cfd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU);
        dev[i] = r == 0 ? ioctl(gfd[i], VFIO_GROUP_GET_DEVICE_FD, uuids->name[i]) : -1;
        check(dev[i] >= 0, "[mtty] %s: group %s, device fd (%s)", uuids->name[i], path, err_text(dev[i]));
    }
    if (dev[0] >= 0 && dev[1] >= 0) {
        int A = dev[0], B = dev[1];
        struct uart_state src[2], dst[2];
        const char *tx[2] = { "HI!", "MIG" };
        int ok = 1;
        for (unsigned p = 0; p < 2; p++) ok &= uart_program(A, p, (uint8_t)(0x5a + p), tx[p]) == 0;
        check(ok, "[mtty] source: both ports programmed (LCR, SCR, 3 bytes looped back)");
        // read the source's state without consuming its RX FIFO: the migrated FIFO is compared below
        for (unsigned p = 0; p < 2; p++) uart_read(A, p, &src[p], 0);

        uint8_t data[4096];
        ssize_t total = 0;
        int dfd = mig_set_state(A, VFIO_DEVICE_STATE_STOP_COPY); // RUNNING -> STOP -> STOP_COPY in one call
        if (check(dfd >= 0, "[mtty] source RUNNING -> STOP_COPY: data fd %d (%s)", dfd, dfd == -2 ? strerror(errno) : "ok")) {
            for (ssize_t n; (n = read(dfd, data + total, sizeof data - (size_t)total)) > 0;) total += n;
            close(dfd);
        }
        check(total > 0, "[mtty] source device state: %zd bytes read to EOF", total);
        int rfd = mig_set_state(B, VFIO_DEVICE_STATE_RESUMING); // RUNNING -> STOP -> RESUMING
        if (check(rfd >= 0, "[mtty] target RUNNING -> RESUMING: data fd %d (%s)", rfd, rfd == -2 ? strerror(errno) : "ok")) {
            ssize_t w = write(rfd, data, (size_t)total);
            check(w == total, "[mtty] target accepted %zd of %zd bytes", w, total);
            close(rfd);
        }
        int r = mig_set_state(B, VFIO_DEVICE_STATE_RUNNING); // RESUMING -> STOP (loads the state) -> RUNNING
        uint32_t st = 0;
        mig_get_state(B, &st);
        check(r == -1 && st == VFIO_DEVICE_STATE_RUNNING, "[mtty] target RESUMING -> RUNNING: now %s (%s)",
              mig_state_name(st), r == -2 ? strerror(errno) : "ok");
        for (unsigned p = 0; p < 2; p++) {
            uart_read(B, p, &dst[p], 3);
            check(dst[p].lcr == src[p].lcr && dst[p].scr == src[p].scr && (dst[p].lsr & 1) &&
                      memcmp(dst[p].rx, tx[p], 3) == 0,
                  "[mtty] port %u migrated: LCR 0x%02x/0x%02x SCR 0x%02x/0x%02x RX \"%.3s\"/\"%s\" (target/source)", p,
                  dst[p].lcr, src[p].lcr, dst[p].scr, src[p].scr, dst[p].rx, tx[p]);
        }
        // mtty keeps its migration state across close (TESTBED.md): leave both instances RUNNING
        r = mig_set_state(A, VFIO_DEVICE_STATE_RUNNING);
        mig_get_state(A, &st);
        check(r == -1 && st == VFIO_DEVICE_STATE_RUNNING, "[mtty] source STOP_COPY -> RUNNING: now %s",
              mig_state_name(st));
    }
    for (int i = 0; i < 2; i++) {
        if (dev[i] >= 0) {
            uint32_t st = 0;
            if (mig_get_state(dev[i], &st) == 0 && st != VFIO_DEVICE_STATE_RUNNING) ioctl(dev[i], VFIO_DEVICE_RESET);
            close(dev[i]);
        }
        if (gfd[i] >= 0) close(gfd[i]);
    }
    close(cfd);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *kernel = getenv("VFIOPP_VM_KERNEL") ? getenv("VFIOPP_VM_KERNEL") : "";
    info("vfiopp VM self-test: kernel %s, intel-iommu %s, built against %s headers", kernel,
         getenv("VFIOPP_VM_IOMMU") ? getenv("VFIOPP_VM_IOMMU") : "?", SELFTEST_HAS_IOMMUFD ? "7.3" : "6.1");
    if (!getenv("VFIOPP_VM")) {
        fprintf(stderr, "selftest: VFIOPP_VM is not set; run me with tests/vm/run\n");
        return 2;
    }
    struct dev_list edu, groups, cdevs, mtty, mtty_groups;
    split_env("VFIOPP_EDU", &edu);
    split_env("VFIOPP_EDU_GROUPS", &groups);
    split_env("VFIOPP_EDU_CDEVS", &cdevs);
    split_env("VFIOPP_MTTY", &mtty);
    split_env("VFIOPP_MTTY_GROUPS", &mtty_groups);
    // the iommufd kernel has everything: there, a missing part is a failure, never a skip
    int full = strcmp(kernel, "iommufd") == 0;

    check_enumeration(&edu, &groups);
    test_type1(&edu, &groups);
#if SELFTEST_HAS_IOMMUFD
    if (full || cdevs.n > 0) test_iommufd(&edu, &cdevs);
#else
    if (full) check(0, "[iommufd] the iommufd kernel needs the self-test built against the 7.3 headers");
#endif
    if (full || mtty.n > 0) test_mtty_migration(&mtty, &mtty_groups);

    printf("%d passed, %d failed\n", n_pass, n_fail);
    return n_fail == 0 && n_pass > 0 ? 0 : 1;
}
