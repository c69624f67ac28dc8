/*
 * holder: keep a PCI device open through VFIO the way a VMM does, for the VM tests.
 *
 *   holder [--group-only | --mmap | --iommufd] [--ready FILE] [--seconds N] BDF
 *   holder --iommu-only [--ready FILE] [--seconds N]
 *   holder --xdp-attach IFNAME | --xdp-detach IFNAME
 *   holder --map-dma BDF
 *
 * default       container + group + device fd (vfio-pci enables the device)
 * --group-only  only the group fd, attached to a container (claims DMA ownership)
 * --mmap        like default, then mmap BAR0 of the device, close the device fd
 *               and keep holding through the mapping alone
 * --iommufd     the device cdev /dev/vfio/devices/vfioX and /dev/iommu, as QEMU 9 does with
 *               iommufd: VFIO_DEVICE_BIND_IOMMUFD, IOMMU_IOAS_ALLOC,
 *               VFIO_DEVICE_ATTACH_IOMMUFD_PT, no group fd and no container at all
 * --iommu-only  only /dev/iommu with an IOAS allocated, no device (which holds nothing)
 *
 * A device in no-IOMMU mode (group node /dev/vfio/noiommu-N) is opened through that node
 * with the container's VFIO_NOIOMMU_IOMMU type.
 *
 * When everything is open it writes "PID ready" to FILE (atomically), then holds
 * until SIGTERM/SIGINT or until N seconds have passed, and exits 0.
 * --xdp-attach loads a two-instruction XDP program (XDP_PASS) and attaches it to IFNAME in
 * generic mode through rtnetlink, then exits: the program stays attached until
 * --xdp-detach (what `ip link set dev IFNAME xdpgeneric obj ...` would do, without a BPF
 * compiler).
 * --map-dma does what a VMM does at start-up and then exits: container, group, SET_CONTAINER,
 * VFIO_SET_IOMMU (TYPE1v2, else TYPE1), VFIO_IOMMU_MAP_DMA of 1 MiB of anonymous memory at
 * IOVA 0x10000000, VFIO_IOMMU_UNMAP_DMA, close. It prints one line per step on stdout,
 * "STEP: ok" or "STEP: ERRNO_NAME (message)", and exits 0 when every step succeeded, 1 when
 * one failed (the steps after it are not tried).
 * Any failure prints "holder: ..." on stderr and exits 1 (2 for usage errors).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/vfio.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>
#include <sys/syscall.h>

/*
 * The iommufd and cdev ioctls (Linux 6.6+, include/uapi/linux/iommufd.h and vfio.h), defined
 * here because the build host's headers may predate them.
 */
struct holder_bind_iommufd {
    __u32 argsz;
    __u32 flags;
    __s32 iommufd;
    __u32 out_devid;
};
struct holder_attach_iommufd_pt {
    __u32 argsz;
    __u32 flags;
    __u32 pt_id;
};
struct holder_ioas_alloc {
    __u32 size;
    __u32 flags;
    __u32 out_ioas_id;
};
#define HOLDER_VFIO_DEVICE_BIND_IOMMUFD _IO(VFIO_TYPE, VFIO_BASE + 18)
#define HOLDER_VFIO_DEVICE_ATTACH_IOMMUFD_PT _IO(VFIO_TYPE, VFIO_BASE + 19)
#define HOLDER_IOMMU_IOAS_ALLOC _IO(';', 0x81)
#define HOLDER_VFIO_NOIOMMU_IOMMU 8

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void die(const char *fmt, ...)
{
    va_list ap;
    fputs("holder: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static void usage(void)
{
    fprintf(stderr, "usage: holder [--group-only | --mmap | --iommufd] [--ready FILE] [--seconds N] BDF\n"
                    "       holder --iommu-only [--ready FILE] [--seconds N]\n"
                    "       holder --map-dma BDF\n");
    exit(2);
}

static int group_of(const char *bdf)
{
    char link[PATH_MAX], target[PATH_MAX];
    snprintf(link, sizeof link, "/sys/bus/pci/devices/%s/iommu_group", bdf);
    ssize_t n = readlink(link, target, sizeof target - 1);
    if (n < 0)
        die("%s: cannot read %s: %s (no such device, or no IOMMU)", bdf, link, strerror(errno));
    target[n] = '\0';
    const char *base = basename(target);
    char *end;
    long id = strtol(base, &end, 10);
    if (*base == '\0' || *end != '\0' || id < 0)
        die("%s: unexpected iommu_group link target %s", bdf, target);
    return (int)id;
}

static void write_ready(const char *path)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f)
        die("cannot create %s: %s", tmp, strerror(errno));
    fprintf(f, "%d ready\n", (int)getpid());
    if (fclose(f) != 0)
        die("cannot write %s: %s", tmp, strerror(errno));
    if (rename(tmp, path) != 0)
        die("cannot rename %s to %s: %s", tmp, path, strerror(errno));
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Attaches (prog_fd >= 0) or detaches (-1) a generic-mode XDP program through RTM_SETLINK. */
static void xdp_set(const char *ifname, int prog_fd)
{
    unsigned int index = if_nametoindex(ifname);
    if (!index)
        die("no interface %s", ifname);
    struct {
        struct nlmsghdr nh;
        struct ifinfomsg ifi;
        char attrs[64];
    } req;
    memset(&req, 0, sizeof req);
    req.nh.nlmsg_type = RTM_SETLINK;
    req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    req.nh.nlmsg_seq = 1;
    req.ifi.ifi_family = AF_UNSPEC;
    req.ifi.ifi_index = (int)index;
    struct rtattr *nest = (struct rtattr *)req.attrs;
    nest->rta_type = IFLA_XDP | NLA_F_NESTED;
    struct rtattr *fd_attr = (struct rtattr *)((char *)nest + RTA_LENGTH(0));
    fd_attr->rta_type = IFLA_XDP_FD;
    fd_attr->rta_len = RTA_LENGTH(sizeof(int));
    memcpy(RTA_DATA(fd_attr), &prog_fd, sizeof(int));
    struct rtattr *flags_attr = (struct rtattr *)((char *)fd_attr + RTA_ALIGN(fd_attr->rta_len));
    flags_attr->rta_type = IFLA_XDP_FLAGS;
    flags_attr->rta_len = RTA_LENGTH(sizeof(__u32));
    __u32 flags = XDP_FLAGS_SKB_MODE;
    memcpy(RTA_DATA(flags_attr), &flags, sizeof flags);
    nest->rta_len = RTA_LENGTH(0) + RTA_ALIGN(fd_attr->rta_len) + RTA_ALIGN(flags_attr->rta_len);
    req.nh.nlmsg_len = NLMSG_LENGTH(sizeof req.ifi) + RTA_ALIGN(nest->rta_len);

    int sock = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (sock < 0)
        die("netlink socket: %s", strerror(errno));
    if (send(sock, &req, req.nh.nlmsg_len, 0) < 0)
        die("netlink send: %s", strerror(errno));
    char reply[4096];
    ssize_t n = recv(sock, reply, sizeof reply, 0);
    if (n < (ssize_t)NLMSG_LENGTH(sizeof(struct nlmsgerr)))
        die("netlink recv: %s", n < 0 ? strerror(errno) : "short reply");
    struct nlmsghdr *rh = (struct nlmsghdr *)reply;
    if (rh->nlmsg_type == NLMSG_ERROR) {
        int err = ((struct nlmsgerr *)NLMSG_DATA(rh))->error;
        if (err)
            die("RTM_SETLINK IFLA_XDP on %s: %s", ifname, strerror(-err));
    }
    close(sock);
}

static int xdp_main(const char *op, const char *ifname)
{
    if (!strcmp(op, "--xdp-detach")) {
        xdp_set(ifname, -1);
        return 0;
    }
    /* r0 = XDP_PASS; exit */
    struct bpf_insn insns[2];
    memset(insns, 0, sizeof insns);
    insns[0].code = BPF_ALU64 | BPF_MOV | BPF_K;
    insns[0].dst_reg = BPF_REG_0;
    insns[0].imm = XDP_PASS;
    insns[1].code = BPF_JMP | BPF_EXIT;
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.prog_type = BPF_PROG_TYPE_XDP;
    attr.insns = (__u64)(unsigned long)insns;
    attr.insn_cnt = 2;
    attr.license = (__u64)(unsigned long)"GPL";
    int prog = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
    if (prog < 0)
        die("BPF_PROG_LOAD: %s", strerror(errno));
    xdp_set(ifname, prog);
    return 0;
}

/* --map-dma: one VMM start-up (attach and map), each answer of the kernel on stdout. */
static const char *errno_name(int e)
{
    switch (e) {
    case EPERM: return "EPERM";
    case EINVAL: return "EINVAL";
    case EBUSY: return "EBUSY";
    case ENOENT: return "ENOENT";
    case ENOMEM: return "ENOMEM";
    case EFAULT: return "EFAULT";
    case EEXIST: return "EEXIST";
    case ENODEV: return "ENODEV";
    case ENOSPC: return "ENOSPC";
    case EIO: return "EIO";
    default: return "ERRNO";
    }
}

static int map_step(const char *step, int rc)
{
    if (rc == 0) {
        printf("%s: ok\n", step);
        fflush(stdout);
        return 0;
    }
    int e = errno;
    printf("%s: %s (%s)\n", step, errno_name(e), strerror(e));
    fflush(stdout);
    return 1;
}

static int map_main(const char *bdf)
{
    int group_id = group_of(bdf);
    int container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
    if (map_step("open /dev/vfio/vfio", container < 0 ? -1 : 0))
        return 1;
    char group_path[64];
    snprintf(group_path, sizeof group_path, "/dev/vfio/%d", group_id);
    int group = open(group_path, O_RDWR | O_CLOEXEC);
    if (map_step("open group", group < 0 ? -1 : 0))
        return 1;
    if (map_step("VFIO_GROUP_SET_CONTAINER", ioctl(group, VFIO_GROUP_SET_CONTAINER, &container)))
        return 1;
    int type = ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) > 0 ? VFIO_TYPE1v2_IOMMU : VFIO_TYPE1_IOMMU;
    if (map_step("VFIO_SET_IOMMU", ioctl(container, VFIO_SET_IOMMU, type)))
        return 1;
    size_t size = 1 << 20;
    void *buffer = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buffer == MAP_FAILED)
        die("mmap of %zu bytes: %s", size, strerror(errno));
    struct vfio_iommu_type1_dma_map map = {
        .argsz = sizeof map,
        .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
        .vaddr = (unsigned long)buffer,
        .iova = 0x10000000,
        .size = size,
    };
    if (map_step("VFIO_IOMMU_MAP_DMA", ioctl(container, VFIO_IOMMU_MAP_DMA, &map)))
        return 1;
    struct vfio_iommu_type1_dma_unmap unmap = { .argsz = sizeof unmap, .iova = map.iova, .size = size };
    if (map_step("VFIO_IOMMU_UNMAP_DMA", ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap)))
        return 1;
    munmap(buffer, size);
    close(group);
    close(container);
    return 0;
}

/* /dev/iommu with one IOAS: returns the iommufd, the IOAS id in *ioas. */
static int open_iommufd(unsigned int *ioas)
{
    int fd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        die("open /dev/iommu: %s (a kernel without CONFIG_IOMMUFD?)", strerror(errno));
    struct holder_ioas_alloc alloc = { .size = sizeof alloc };
    if (ioctl(fd, HOLDER_IOMMU_IOAS_ALLOC, &alloc) != 0)
        die("IOMMU_IOAS_ALLOC: %s", strerror(errno));
    *ioas = alloc.out_ioas_id;
    return fd;
}

/* The device cdev of BDF (/dev/vfio/devices/vfioX, from vfio-dev/ in sysfs), opened. */
static int open_cdev(const char *bdf, char *path, size_t size)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "/sys/bus/pci/devices/%s/vfio-dev", bdf);
    DIR *d = opendir(dir);
    if (!d)
        die("%s: cannot read %s: %s (is it bound to vfio-pci?)", bdf, dir, strerror(errno));
    struct dirent *e;
    path[0] = '\0';
    while ((e = readdir(d)))
        if (!strncmp(e->d_name, "vfio", 4))
            snprintf(path, size, "/dev/vfio/devices/%s", e->d_name);
    closedir(d);
    if (!path[0])
        die("%s: nothing in %s", bdf, dir);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        die("open %s: %s%s", path, strerror(errno),
            errno == ENOENT ? " (a kernel without CONFIG_VFIO_DEVICE_CDEV, or a no-IOMMU device?)" : "");
    return fd;
}

/* Holds until SIGTERM/SIGINT or until the deadline (0: none). */
static void hold(double seconds)
{
    double deadline = seconds > 0 ? now() + seconds : 0;
    while (!stop_requested && (deadline == 0 || now() < deadline)) {
        struct timespec ts = { 0, 50 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--map-dma"))
        return map_main(argv[2]);
    if (argc == 3 && (!strcmp(argv[1], "--xdp-attach") || !strcmp(argv[1], "--xdp-detach")))
        return xdp_main(argv[1], argv[2]);

    enum { FULL, GROUP_ONLY, MMAP, IOMMUFD, IOMMU_ONLY } mode = FULL;
    const char *ready = NULL;
    double seconds = 0;
    const char *bdf = NULL;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--group-only"))
            mode = GROUP_ONLY;
        else if (!strcmp(a, "--mmap"))
            mode = MMAP;
        else if (!strcmp(a, "--iommufd"))
            mode = IOMMUFD;
        else if (!strcmp(a, "--iommu-only"))
            mode = IOMMU_ONLY;
        else if (!strcmp(a, "--ready") && i + 1 < argc)
            ready = argv[++i];
        else if (!strcmp(a, "--seconds") && i + 1 < argc) {
            char *end;
            seconds = strtod(argv[++i], &end);
            if (*end != '\0' || seconds < 0)
                usage();
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help"))
            usage();
        else if (a[0] == '-' || bdf)
            usage();
        else
            bdf = a;
    }
    if (!bdf != (mode == IOMMU_ONLY))
        usage();

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    if (mode == IOMMU_ONLY || mode == IOMMUFD) {
        unsigned int ioas;
        int iommufd = open_iommufd(&ioas);
        int device = -1;
        char path[PATH_MAX] = "";
        if (mode == IOMMUFD) {
            device = open_cdev(bdf, path, sizeof path);
            struct holder_bind_iommufd bind = { .argsz = sizeof bind, .iommufd = iommufd };
            if (ioctl(device, HOLDER_VFIO_DEVICE_BIND_IOMMUFD, &bind) != 0)
                die("VFIO_DEVICE_BIND_IOMMUFD on %s: %s", path, strerror(errno));
            struct holder_attach_iommufd_pt attach = { .argsz = sizeof attach, .pt_id = ioas };
            if (ioctl(device, HOLDER_VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach) != 0)
                die("VFIO_DEVICE_ATTACH_IOMMUFD_PT(IOAS %u) on %s: %s", ioas, path, strerror(errno));
        }
        if (ready)
            write_ready(ready);
        if (mode == IOMMUFD)
            fprintf(stderr, "holder: pid %d holds %s (cdev %s, iommufd, IOAS %u)\n", (int)getpid(), bdf, path, ioas);
        else
            fprintf(stderr, "holder: pid %d holds /dev/iommu (IOAS %u), no device\n", (int)getpid(), ioas);
        hold(seconds);
        if (device >= 0)
            close(device);
        close(iommufd);
        return 0;
    }

    int group_id = group_of(bdf);

    int container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
    if (container < 0)
        die("open /dev/vfio/vfio: %s (is the vfio module loaded?)", strerror(errno));
    int api = ioctl(container, VFIO_GET_API_VERSION);
    if (api != VFIO_API_VERSION)
        die("VFIO_GET_API_VERSION returned %d, expected %d", api, VFIO_API_VERSION);

    char group_path[64];
    snprintf(group_path, sizeof group_path, "/dev/vfio/%d", group_id);
    /* A group vfio made for a device without an IOMMU (no-IOMMU mode) has its own node. */
    int noiommu = 0;
    if (access(group_path, F_OK) != 0) {
        char alt[64];
        snprintf(alt, sizeof alt, "/dev/vfio/noiommu-%d", group_id);
        if (access(alt, F_OK) == 0) {
            snprintf(group_path, sizeof group_path, "%s", alt);
            noiommu = 1;
        }
    }
    int group = open(group_path, O_RDWR | O_CLOEXEC);
    if (group < 0) {
        if (errno == EBUSY)
            die("open %s: %s (the group is already open elsewhere)", group_path, strerror(errno));
        if (errno == ENOENT)
            die("open %s: %s (is %s bound to vfio-pci?)", group_path, strerror(errno), bdf);
        die("open %s: %s", group_path, strerror(errno));
    }

    struct vfio_group_status status = { .argsz = sizeof status };
    if (ioctl(group, VFIO_GROUP_GET_STATUS, &status) != 0)
        die("VFIO_GROUP_GET_STATUS on %s: %s", group_path, strerror(errno));
    if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) != 0) {
        int e = errno;
        if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE) || e == EPERM)
            die("VFIO_GROUP_SET_CONTAINER on %s: %s (group %d is not viable: another device "
                "in it is bound to a host driver)", group_path, strerror(e), group_id);
        die("VFIO_GROUP_SET_CONTAINER on %s: %s", group_path, strerror(e));
    }

    int device = -1;
    void *map = MAP_FAILED;
    size_t map_len = 0;
    if (mode != GROUP_ONLY) {
        int type = VFIO_TYPE1v2_IOMMU;
        if (noiommu)
            type = HOLDER_VFIO_NOIOMMU_IOMMU;
        else if (ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) <= 0)
            type = VFIO_TYPE1_IOMMU;
        if (ioctl(container, VFIO_SET_IOMMU, type) != 0)
            die("VFIO_SET_IOMMU(%s): %s", noiommu ? "NOIOMMU" : type == VFIO_TYPE1v2_IOMMU ? "TYPE1v2" : "TYPE1",
                strerror(errno));
        device = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, bdf);
        if (device < 0)
            die("VFIO_GROUP_GET_DEVICE_FD(%s): %s", bdf, strerror(errno));
    }
    if (mode == MMAP) {
        struct vfio_region_info info = { .argsz = sizeof info, .index = VFIO_PCI_BAR0_REGION_INDEX };
        if (ioctl(device, VFIO_DEVICE_GET_REGION_INFO, &info) != 0)
            die("VFIO_DEVICE_GET_REGION_INFO(BAR0) of %s: %s", bdf, strerror(errno));
        if (info.size == 0 || !(info.flags & VFIO_REGION_INFO_FLAG_MMAP))
            die("BAR0 of %s cannot be mmapped (size %llu, flags 0x%x)", bdf,
                (unsigned long long)info.size, info.flags);
        map_len = (size_t)info.size;
        map = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_SHARED, device, (off_t)info.offset);
        if (map == MAP_FAILED)
            die("mmap BAR0 of %s: %s", bdf, strerror(errno));
        close(device);
        device = -1;
    }

    if (ready)
        write_ready(ready);
    fprintf(stderr, "holder: pid %d holds %s (group %d, %s)\n", (int)getpid(), bdf, group_id,
            mode == GROUP_ONLY ? "group only" : mode == MMAP ? "BAR0 mapping" : "device fd");

    hold(seconds);

    if (map != MAP_FAILED)
        munmap(map, map_len);
    if (device >= 0)
        close(device);
    close(group);
    close(container);
    return 0;
}
