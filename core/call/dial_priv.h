/**
 * @file dial_priv.h  The dial's own fields, shared by the files of the
 * dial module only: dial.c (ringing, answers, failures) and
 * dial_pickup.c (a call ringing taken by another phone).
 */

struct fork {
	struct le le;
	struct leg *leg;
	struct dial *d;
};

struct dial {
	struct le le;               /**< in the list of every dial     */
	struct pbx *pbx;
	uint64_t id;
	uint64_t started;           /**< tmr_jiffies() at its start     */
	struct leg *caller;
	struct list forks;          /**< struct fork, ringing           */
	struct stream *fstream;     /**< the forks' audio, shared       */
	struct stream *fvstream;    /**< and video                      */
	struct tmr tmr;
	struct dial_opts o;         /**< its strings are copies below   */
	char *caller_name, *caller_num, *number, *xhdrs, *ringback;
	char *target;               /**< the first it rang, for the log */
	enum dial_status status;
	uint16_t code;
	struct leg *answered;
	struct bridge *bridge;
	bool early;                 /**< caller linked to a fork's 183  */
	bool ringing_sent;
	bool ringback_on;
	bool gone;                  /**< the caller hung up             */
	dial_event_h *h;
	void *owner;
};


void dialpriv_cancel_forks(struct dial *d);
void dialpriv_ringback_stop(struct dial *d);
void dialpriv_finish(struct dial *d, enum dial_status st, uint16_t code);
int  dialpriv_answer_to(struct leg *leg, struct leg *peer);
int  dialpriv_bridge(struct dial *d, struct leg *a, struct leg *b);
