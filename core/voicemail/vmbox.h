/**
 * @file vmbox.h  Voicemail messages: audio files and their index.
 *
 * The audio lives under <recordings>/voicemail/<mailbox>/ (so that
 * call:play() finds it by name), the index in the store (table
 * vm_message).  A message exists only once it is whole: a deposit's file
 * is recorded under voicemail/incoming/, then vmbox_deposit() syncs it to
 * the disk, renames it into the mailbox's folder, syncs the folder, and
 * only then adds its index row (one committed transaction).  A crash at
 * any point leaves either no message or a whole one; what it left behind
 * (the incoming files, a renamed file whose row never committed) is
 * removed by vmbox_open() at the next start.  Folders (INBOX, Old, Work,
 * Family, Friends, Urgent) are a column: saving a message is one UPDATE.
 *
 * Greetings (unavail, busy, temp, name) are files of the mailbox's
 * folder, replaced by the same sync-and-rename; a changed PIN is a row
 * of table vm_pin.
 */

struct vmbox;
struct store;

struct vmbox_msg {
	int64_t id;
	const char *mailbox;
	const char *folder;
	const char *caller_num;     /**< NULL when unknown        */
	const char *caller_name;
	int64_t received;           /**< Unix time                */
	double duration;            /**< seconds                  */
	bool heard;
	const char *file;           /**< sound name: voicemail/6001/m-... */
};

/** What a deposit knows about its message. */
struct vmbox_meta {
	const char *caller_num;
	const char *caller_name;
	double duration;
	const char *folder;         /**< NULL: INBOX              */
};

struct vmbox_counts {
	uint32_t new_msgs;          /**< INBOX and Urgent          */
	uint32_t old_msgs;          /**< Old                       */
	uint32_t urgent;            /**< Urgent                    */
	uint32_t total;             /**< every folder              */
};

typedef void (vmbox_change_h)(const char *mailbox, void *arg);
typedef bool (vmbox_msg_h)(const struct vmbox_msg *msg, void *arg);

int  vmbox_open(struct vmbox **vbp, struct store *st, const char *rec_dir);
void vmbox_set_change_handler(struct vmbox *vb, vmbox_change_h *h,
			      void *arg);
int  vmbox_incoming(struct vmbox *vb, char *name, size_t sz);
int  vmbox_deposit(struct vmbox *vb, const char *mailbox,
		   const char *incoming, const struct vmbox_meta *meta,
		   int64_t *idp);
int  vmbox_counts(struct vmbox *vb, const char *mailbox,
		  struct vmbox_counts *c);
int  vmbox_list(struct vmbox *vb, const char *mailbox, const char *folder,
		vmbox_msg_h *h, void *arg);
int  vmbox_move(struct vmbox *vb, const char *mailbox, int64_t id,
		const char *folder);
int  vmbox_heard(struct vmbox *vb, const char *mailbox, int64_t id);
int  vmbox_delete(struct vmbox *vb, const char *mailbox, int64_t id);
int  vmbox_copy(struct vmbox *vb, const char *mailbox, int64_t id,
		const char *to, int64_t *idp);
int  vmbox_greeting_set(struct vmbox *vb, const char *mailbox,
			const char *kind, const char *incoming);
int  vmbox_greeting_remove(struct vmbox *vb, const char *mailbox,
			   const char *kind);
int  vmbox_greeting(struct vmbox *vb, const char *mailbox, const char *kind,
		    char *name, size_t sz);
int  vmbox_pin(struct vmbox *vb, const char *mailbox, char *pin, size_t sz);
int  vmbox_set_pin(struct vmbox *vb, const char *mailbox, const char *pin);
bool vmbox_name_ok(const char *mailbox);
bool vmbox_folder_ok(const char *folder);
const char *vmbox_rec_dir(const struct vmbox *vb);
