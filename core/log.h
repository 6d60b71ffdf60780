/**
 * @file log.h  Logging: one line per event, with a level and a time stamp.
 *
 * Format strings are libre's (re_printf): %r prints a struct pl, %J a
 * struct sa with port, %m an errno value.
 */

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

/** A sink sees every line that passes the level filter (console follow). */
typedef void (log_sink_h)(enum log_level level, const char *line, void *arg);

void log_set_level(enum log_level level);
void log_set_journal(bool on);
enum log_level log_level(void);
int  log_level_parse(const char *name, enum log_level *level);
const char *log_level_name(enum log_level level);
void log_add_sink(log_sink_h *sinkh, void *arg);
void log_remove_sink(log_sink_h *sinkh, void *arg);
void log_msg(enum log_level level, const char *fmt, ...);
void log_block(const char *text);

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN,  __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO,  __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
