/**
 * @file rtpsteer.h  The RTP of every flowing bridged leg into one socket.
 *
 * A bridged leg has its own UDP port, as phones expect; read through its
 * own socket, each packet costs the kernel that socket's cold structures,
 * twice: once to receive it and once more when the other leg's packet
 * leaves through it.  Steered, a leg's port stays bound to its socket
 * (nobody else takes it, and the PBX reads it again when the leg stops
 * flowing) but the kernel delivers its packets to one shared socket,
 * which stays in the cache and is read in batches: a BPF sk_lookup
 * program (Linux 5.9) looks the packet's local address and port up in a
 * table the PBX keeps, and assigns it the shared socket.  The packet's
 * own destination comes with it (IP_ORIGDSTADDR), and tells its leg.
 *
 * It needs CAP_BPF and CAP_NET_ADMIN (root, or setcap); without them
 * rtpsteer_open() fails and each leg's socket is read on its own.
 */

struct sockaddr_in;

int  rtpsteer_open(void);
int  rtpsteer_fd(void);
int  rtpsteer_add(const struct sa *laddr, uint32_t id);
uint32_t rtpsteer_find(const struct sockaddr_in *dst);
void rtpsteer_del(const struct sa *laddr);
uint32_t rtpsteer_count(void);
void rtpsteer_close(void);
