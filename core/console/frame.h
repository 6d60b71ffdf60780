/**
 * @file frame.h  The console's protocol: frames on a Unix stream socket.
 *
 * A frame is a type byte, a 4-byte big-endian length and that many bytes.
 *
 *   client -> PBX   'H' hello ("repl" | "exec"), answered with 'R'
 *                   'E' a chunk of Lua to evaluate, answered with 'R'
 *                   'C' a word to complete, answered with 'M'
 *   PBX -> client   'O' output (print), 'L' a log line, any time
 *                   'R' a result: 'o' ok, 'e' error or 'i' incomplete,
 *                       then the text to show
 *                   'M' completions, one a line
 */

enum {
	FRAME_HDR = 5,
	FRAME_MAX = 4 << 20,   /**< larger frames end the connection */
};

int frame_encode(struct mbuf *mb, char type, const void *data, size_t len);
int frame_decode(struct mbuf *mb, char *type, struct pl *payload);
