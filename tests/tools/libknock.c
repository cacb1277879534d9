/*
 * libknock - test-only client built on libsiglatch alone (include/
 * siglatch.h, linked against the shared library), as another program
 * would knock without shelling out to knocker.  Not installed.
 *
 *   libknock SERVER-PUB HMAC-KEY HOST PORT USER-ID ACTION-ID FORMAT
 *            [WAIT-SECONDS [PAYLOAD]]
 *
 * Sends one knock (FORMAT 1 or 2) to the IPv4 address HOST.  With
 * WAIT-SECONDS > 0 (format 2) it asks for a receipt and prints
 * "status=S reason=R value=V" when it comes.  Prints "api=N" and
 * "fingerprint=..." first.  Exit: 0 sent (and a receipt when waited for),
 * 1 an error, 6 no receipt in time.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <siglatch.h>

int
main(int argc, char **argv)
{
	uint8_t buf[SIGLATCH_KNOCK_MAX], in[64];
	char fp[SIGLATCH_FP_LEN];
	struct siglatch_receipt r;
	struct sockaddr_in sin;
	struct pollfd p;
	siglatch_ctx *c = NULL;
	const char *payload;
	size_t n = 0;
	ssize_t got;
	int fd, rc, wait_s, format;

	if (argc < 8 || argc > 10) {
		fprintf(stderr, "usage: libknock SERVER-PUB HMAC-KEY HOST PORT "
		    "USER ACTION FORMAT [WAIT [PAYLOAD]]\n");
		return 2;
	}
	format = atoi(argv[7]);
	wait_s = argc > 8 ? atoi(argv[8]) : 0;
	payload = argc > 9 ? argv[9] : "";
	if (siglatch_api_version() != SIGLATCH_API_VERSION) {
		fprintf(stderr, "libknock: library API %d, header %d\n",
		    siglatch_api_version(), SIGLATCH_API_VERSION);
		return 1;
	}
	if ((rc = siglatch_ctx_new_files(&c, argv[1], argv[2])) != SIGLATCH_OK ||
	    (rc = siglatch_fingerprint(c, fp, sizeof(fp))) != SIGLATCH_OK) {
		fprintf(stderr, "libknock: %s\n", siglatch_strerror(rc));
		return 1;
	}
	printf("api=%d\nfingerprint=%s\n", siglatch_api_version(), fp);
	if (format == 1)
		rc = siglatch_knock1(c, (uint16_t)atoi(argv[5]),
		    (uint8_t)atoi(argv[6]), payload, strlen(payload), 0, buf,
		    sizeof(buf), &n);
	else
		rc = siglatch_knock2(c, (uint16_t)atoi(argv[5]),
		    (uint8_t)atoi(argv[6]), payload, strlen(payload), NULL,
		    wait_s > 0 ? SIGLATCH_F_RECEIPT : 0, 0, buf, sizeof(buf), &n);
	if (rc != SIGLATCH_OK) {
		fprintf(stderr, "libknock: %s\n", siglatch_strerror(rc));
		return 1;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)atoi(argv[4]));
	if (inet_pton(AF_INET, argv[3], &sin.sin_addr) != 1 ||
	    (fd = socket(AF_INET, SOCK_DGRAM, 0)) < 0 ||
	    connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    send(fd, buf, n, 0) != (ssize_t)n) {
		perror("libknock");
		return 1;
	}
	printf("sent=%zu\n", n);
	rc = 0;
	while (wait_s > 0) {
		p.fd = fd;
		p.events = POLLIN;
		if (poll(&p, 1, wait_s * 1000) != 1) {
			printf("receipt=none\n");
			rc = 6;
			break;
		}
		if ((got = recv(fd, in, sizeof(in), 0)) < 0)
			continue;
		if (siglatch_receipt_open(c, in, (size_t)got, &r) != SIGLATCH_OK)
			continue;
		printf("status=%d reason=%d value=%u\n", r.status, r.reason,
		    (unsigned)r.value);
		break;
	}
	close(fd);
	siglatch_ctx_free(c);
	return rc;
}
