/**
 * @file udpaddr.h  What the benchmark's UDP tools share: IPv4 ADDR:PORT
 * parsing, and a bound socket with buffers big enough for bursts.
 */
struct sockaddr_in;

int udpaddr_parse(const char *str, struct sockaddr_in *sin);
int udpaddr_bind(const char *str);
