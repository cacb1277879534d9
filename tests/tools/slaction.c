/*
 * slaction - a test action: records how siglatchd ran it.
 *
 * Configured as `constructor = /path/slaction /path/outdir`, so with
 * exec_split argv[1] is the output directory and argv[2..8] are the seven
 * siglatch 1.0 arguments.  Writes OUTDIR/run.PID (atomically) with its
 * argv, environment, open descriptors and what stdin held, then prints a
 * line to stdout (which siglatchd should log).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

int
main(int argc, char **argv)
{
	char tmp[4096], final[4096], buf[512];
	struct dirent *de;
	DIR *dir;
	FILE *f;
	ssize_t n;
	long total = 0;
	int i, dfd;

	if (argc < 2)
		return 2;
	/* stdin first: it must be /dev/null, so this returns at once */
	while ((n = read(0, buf, sizeof(buf))) > 0)
		total += n;
	snprintf(tmp, sizeof(tmp), "%s/.run.%ld", argv[1], (long)getpid());
	snprintf(final, sizeof(final), "%s/run.%ld", argv[1], (long)getpid());
	/* descriptors before this program opened any of its own */
	if ((dir = opendir("/proc/self/fd")) == NULL)
		return 3;
	dfd = dirfd(dir);
	if ((f = fopen(tmp, "w")) == NULL)
		return 4;
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.' || atoi(de->d_name) == dfd ||
		    atoi(de->d_name) == fileno(f))
			continue;
		fprintf(f, "fd=%s\n", de->d_name);
	}
	closedir(dir);
	fprintf(f, "argc=%d\n", argc);
	for (i = 0; i < argc; i++)
		fprintf(f, "argv[%d]=%s\n", i, argv[i]);
	for (i = 0; environ[i] != NULL; i++)
		fprintf(f, "env=%s\n", environ[i]);
	fprintf(f, "stdin_bytes=%ld\n", total);
	fprintf(f, "uid=%ld\n", (long)getuid());
	if (fclose(f) != 0 || rename(tmp, final) != 0)
		return 5;
	printf("slaction: ran for user %s action %s\n",
	    argc > 4 ? argv[4] : "?", argc > 6 ? argv[6] : "?");
	return 0;
}
