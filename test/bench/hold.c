/* hold - a service that writes "hello\n" and then stays until the client
 * closes: the runner holds one such connection open to fill a per-source
 * concurrency limit, so that every further connection from that source
 * takes the refusal path. */
#include <unistd.h>

int main(void)
{
	static const char msg[] = "hello\n";
	char buf[256];
	if (write(1, msg, sizeof msg - 1) != (ssize_t)(sizeof msg - 1))
		return 1;
	while (read(0, buf, sizeof buf) > 0)
		;
	return 0;
}
