/* hello - the benchmark's trivial service: write "hello\n" to fd 1 and exit.
 * Static, no stdio, so that what the benchmark measures is the super-server's
 * accept and spawn path and not the service's own start-up. */
#include <unistd.h>

int main(void)
{
	static const char msg[] = "hello\n";
	ssize_t n = write(1, msg, sizeof msg - 1);
	return n == (ssize_t)(sizeof msg - 1) ? 0 : 1;
}
