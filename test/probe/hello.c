/* hello - the spawn benchmark's service: write "hello\n" to fd 1 and exit.
 * Static, no stdio: what is measured is the spawn path, not the service. */
#include <unistd.h>

int main(void)
{
	static const char msg[] = "hello\n";
	return write(1, msg, sizeof msg - 1) == (ssize_t)(sizeof msg - 1) ? 0 : 1;
}
