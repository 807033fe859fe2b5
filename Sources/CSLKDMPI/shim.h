// Open MPI's handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, …) are macros that take the address of
// library globals, which Swift cannot import; these functions hand them over.
#include <mpi.h>

static inline MPI_Comm slkd_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype slkd_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype slkd_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype slkd_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Op slkd_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Errhandler slkd_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline void *slkd_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline int slkd_mpi_thread_funneled(void) { return MPI_THREAD_FUNNELED; }
static inline int slkd_mpi_max_error_string(void) { return MPI_MAX_ERROR_STRING; }
